//! Second-factor page: the authority accepted the password and asks for a TOTP code. The code
//! is form-POSTed (a real navigation) to the authority's `/common/SAS/ProcessAuth` with the
//! login context; a wrong code comes back here with the error, too many end the sign-in.
//! Like the password, the code is never stored or logged; it is only checked for being six
//! digits in the page (the form has `novalidate`: no English browser bubble).

use leptos::prelude::*;

use super::{ActionRow, PageHeading};
use crate::controller::use_controller;
use crate::errors::{authority_code, lookup};
use crate::flow::SignInContext;
use crate::i18n::{format, t, Text};

/// Where the code goes (ESTS's strong-authentication endpoint).
pub const PROCESS_AUTH_PATH: &str = "/common/SAS/ProcessAuth";

#[component]
pub fn SecondFactorPage(context: SignInContext) -> impl IntoView {
    let controller = use_controller();
    let account = context.login_hint.clone().unwrap_or_default();
    let error = context.error.as_ref().map(|error| {
        let code = authority_code(error);
        (code.clone(), lookup(&code, false))
    });
    let has_error = error.is_some();
    let problem = RwSignal::new(false);
    let code_input = NodeRef::<leptos::html::Input>::new();
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        let value = code_input
            .get_untracked()
            .map(|input| input.value())
            .unwrap_or_default();
        let six_digits = value.len() == 6 && value.chars().all(|c| c.is_ascii_digit());
        if !six_digits {
            event.prevent_default();
            problem.set(true);
        }
    };
    let tries_left = context
        .error
        .as_ref()
        .and_then(|error| error.description.as_deref())
        .and_then(crate::errors::tries_left);
    view! {
        <PageHeading name="mfa" text=t(Text::MfaHeading) />
        <p class="intro">{format(Text::MfaIntro, &[&account])}</p>
        <form method="post" action=PROCESS_AUTH_PATH class="sign-in-form" novalidate on:submit=on_submit>
            <input type="hidden" name="request" value=context.ctx />
            <input type="hidden" name="mfaAuthMethod" value="PhoneAppOTP" />
            <div class="field">
                <label for="otc">{t(Text::MfaCodeLabel)}</label>
                <input id="otc" name="otc" type="text" inputmode="numeric" pattern="[0-9]{6}"
                    maxlength="6" autocomplete="one-time-code" autofocus
                    on:input=move |_| problem.set(false) node_ref=code_input
                    aria-describedby=has_error.then_some("mfa-error")
                    aria-invalid=has_error.then_some("true")
                    data-testid="input-otp" />
            </div>
            <p class="field-error" role="alert" data-testid="otp-error" hidden=move || !problem.get()>
                {t(Text::CodeRequired)}
            </p>
            {error.map(|(code, entry)| view! {
                <div id="mfa-error" class="field-error" role="alert" data-testid="error-message" data-code=code.clone()>
                    <p data-testid="error-summary">{t(entry.summary)}</p>
                    <p data-testid="error-advice">{t(entry.advice)}</p>
                    {tries_left.map(|left| view! {
                        <p data-testid="tries-left">{format(Text::TriesLeft, &[&left.to_string()])}</p>
                    })}
                    <p class="error-code" data-testid="error-code">{format(Text::ErrorCodeLine, &[&code])}</p>
                </div>
            })}
            <ActionRow back=Callback::new(move |_| controller.back_from_sign_in()) cancel=super::in_settings()>
                <button type="submit" class="btn btn-primary" data-testid="btn-verify">
                    {t(Text::MfaVerify)}
                </button>
            </ActionRow>
        </form>
    }
}
