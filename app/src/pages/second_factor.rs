//! Second-factor page: the authority accepted the password and asks for a TOTP code. The code
//! is form-POSTed (a real navigation) to the authority's `/common/SAS/ProcessAuth` with the
//! login context; a wrong code comes back here with the error, too many end the sign-in.
//! Like the password, the code is never read into Rust, stored or logged.

use leptos::prelude::*;

use super::{ActionRow, PageHeading};
use crate::controller::use_controller;
use crate::flow::SignInContext;
use crate::i18n::{format, t, Text};

/// Where the code goes (ESTS's strong-authentication endpoint).
pub const PROCESS_AUTH_PATH: &str = "/common/SAS/ProcessAuth";

#[component]
pub fn SecondFactorPage(context: SignInContext) -> impl IntoView {
    let controller = use_controller();
    let account = context.login_hint.clone().unwrap_or_default();
    let error = context
        .error
        .map(|error| error.description.unwrap_or(error.error));
    let has_error = error.is_some();
    view! {
        <PageHeading name="mfa" text=t(Text::MfaHeading) />
        <p class="intro">{format(Text::MfaIntro, &[&account])}</p>
        <form method="post" action=PROCESS_AUTH_PATH class="sign-in-form">
            <input type="hidden" name="request" value=context.ctx />
            <input type="hidden" name="mfaAuthMethod" value="PhoneAppOTP" />
            <div class="field">
                <label for="otc">{t(Text::MfaCodeLabel)}</label>
                <input id="otc" name="otc" type="text" inputmode="numeric" pattern="[0-9]{6}"
                    maxlength="6" autocomplete="one-time-code" required autofocus
                    aria-describedby=has_error.then_some("mfa-error")
                    aria-invalid=has_error.then_some("true")
                    data-testid="input-otp" />
            </div>
            {error.map(|text| view! {
                <p id="mfa-error" class="field-error" role="alert" data-testid="error-message">{text}</p>
            })}
            <ActionRow back=Callback::new(move |_| controller.back_from_sign_in()) cancel=super::in_settings()>
                <button type="submit" class="btn btn-primary" data-testid="btn-verify">
                    {t(Text::MfaVerify)}
                </button>
            </ActionRow>
        </form>
    }
}
