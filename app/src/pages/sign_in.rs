//! Sign-in page (seed 001 phase C), in two steps as Windows shows it: the user's name (checked
//! in the page, in the UI language: the form has `novalidate`), user realm discovery, then the
//! password step (Back returns to the name, kept), posted with a genuine HTML form submission
//! to the authority's CXH login endpoint. A failed attempt comes back as a new page load with
//! the authority's code: wrong password on the password step, unknown account on the name
//! step, each told with its [`crate::errors`] entry and its "Error code" line.
//!
//! The password lives in the form field. The one exception is OOBE with a managed realm: just
//! before the form is posted, it is read once and handed to the bridge for the automatic
//! sign-in buffer (seed 000 §2; the bridge encrypts it, see `host-bridge/src/autologon.rs`),
//! then the form is submitted; it is never stored in the session, logged, or kept by the page.
//! Realm lookups are cached per domain, so typing and pressing Next cost
//! one request per distinct domain.

use std::collections::HashMap;
use std::time::Duration;

use cxh_wire::bridge::{HostContext, HostFlow};
use cxh_wire::realm::NameSpaceType;
use leptos::ev::SubmitEvent;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{ActionRow, PageHeading};
use crate::authority::{fetch_user_realm, login_action, realm_domain, username_problem};
use crate::controller::use_controller;
use crate::errors::{authority_code, lookup, Action, Entry};
use crate::federation::sts_sign_in_url;
use crate::flow::SignInContext;
use crate::i18n::{format, t, Text};

/// Pause in typing after which the realm is looked up without waiting for Next.
const REALM_DEBOUNCE: Duration = Duration::from_millis(600);

/// Which of the two steps shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Username,
    Password,
}

/// What is known about a domain's realm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RealmLookup {
    Pending,
    Known(NameSpaceType),
    /// The lookup itself failed (network); asking again is allowed.
    Failed,
}

#[component]
pub fn SignInPage(context: SignInContext, host: HostContext) -> impl IntoView {
    let controller = use_controller();
    let action = login_action(host.flow, host.platform);
    let initial_upn = context.login_hint.clone().unwrap_or_default();
    let upn = RwSignal::new(initial_upn.clone());
    let realms = RwSignal::new(HashMap::<String, RealmLookup>::new());
    // Federated domains: brand name and AuthURL of their STS.
    let federations = RwSignal::new(HashMap::<String, (String, Option<String>)>::new());
    let ctx = StoredValue::new(context.ctx.clone());
    let debounce = StoredValue::new(None::<TimeoutHandle>);
    // The failed attempt this page load reports, and the step it belongs to.
    let failure: Option<(String, &'static Entry)> = context.error.as_ref().map(|error| {
        let code = authority_code(error);
        let entry = lookup(&code, false);
        (code, entry)
    });
    let retry_password =
        matches!(failure, Some((_, entry)) if entry.action == Action::ReenterPassword);
    let step = RwSignal::new(if retry_password && !initial_upn.is_empty() {
        Step::Password
    } else {
        Step::Username
    });
    // Next was pressed: go on once the realm is known (never because a lookup finished while
    // the user was typing).
    let want_next = StoredValue::new(false);
    let upn_problem = RwSignal::new(None::<Text>);
    let password_problem = RwSignal::new(None::<Text>);
    // The form is on its way to the authority: the previous attempt's message is cleared, so a
    // second wrong password visibly comes back as a new answer.
    let submitting = RwSignal::new(false);
    let password_input = NodeRef::<html::Input>::new();
    let upn_input = NodeRef::<html::Input>::new();
    let form = NodeRef::<html::Form>::new();
    let in_oobe = host.flow == HostFlow::Oobe;

    let realm = Memo::new(move |_| {
        let domain = realm_domain(&upn.get())?;
        realms.with(|known| known.get(&domain).copied())
    });
    let managed = move || realm.get() == Some(RealmLookup::Known(NameSpaceType::Managed));

    let look_up = move || {
        let user = upn.get_untracked();
        let Some(domain) = realm_domain(&user) else {
            return;
        };
        let asked_before = realms.with_untracked(|known| {
            matches!(
                known.get(&domain),
                Some(RealmLookup::Pending | RealmLookup::Known(_))
            )
        });
        if asked_before {
            return;
        }
        realms.update(|known| {
            known.insert(domain.clone(), RealmLookup::Pending);
        });
        spawn_local(async move {
            let outcome = match fetch_user_realm(&user).await {
                Ok(answer) => {
                    if answer.name_space_type == NameSpaceType::Federated {
                        let brand = answer.federation_brand_name.unwrap_or_default();
                        federations.update(|known| {
                            known.insert(domain.clone(), (brand, answer.auth_url));
                        });
                    }
                    RealmLookup::Known(answer.name_space_type)
                }
                Err(_) => RealmLookup::Failed,
            };
            realms.update(|known| {
                known.insert(domain, outcome);
            });
        });
    };

    let federation = Memo::new(move |_| {
        let domain = realm_domain(&upn.get())?;
        federations.with(|known| known.get(&domain).cloned())
    });
    let federated = move || realm.get() == Some(RealmLookup::Known(NameSpaceType::Federated));
    // Leave for the STS, carrying the login context and the request's state in wctx.
    let go_federated = move || {
        let Some((_, Some(auth_url))) = federation.get_untracked() else {
            return;
        };
        let state = controller.pending_state().unwrap_or_default();
        if let Some(url) = sts_sign_in_url(&auth_url, &ctx.get_value(), &state) {
            controller.go_to_sts(&url);
        }
    };

    // A retry arrives with the name prefilled: look its realm up straight away.
    if !initial_upn.is_empty() {
        look_up();
    }

    // Next was pressed before the answer came: go on once it is known.
    Effect::new(move |_| {
        // Read the realm first: it is what re-runs this effect (`want_next` is not reactive,
        // so returning before reading it would leave the effect with nothing to wait on).
        let known = realm.get();
        if !want_next.get_value() {
            return;
        }
        if federated() {
            want_next.set_value(false);
            go_federated();
        } else if managed() {
            want_next.set_value(false);
            step.set(Step::Password);
        } else if known.is_some_and(|known| known != RealmLookup::Pending) {
            want_next.set_value(false);
        }
    });

    // The focus follows the step: the password field on the password step, the name on Back.
    Effect::new(move |previous: Option<Step>| {
        let now = step.get();
        match now {
            Step::Password => {
                if let Some(input) = password_input.get() {
                    let _ = input.focus();
                }
            }
            // Back from the password step (not the first render: the heading has the focus).
            Step::Username if previous == Some(Step::Password) => {
                if let Some(input) = upn_input.get_untracked() {
                    let _ = input.focus();
                }
            }
            Step::Username => {}
        }
        now
    });

    let on_upn_input = move |event: leptos::ev::Event| {
        upn.set(event_target_value(&event));
        upn_problem.set(None);
        if let Some(pending) = debounce.get_value() {
            pending.clear();
        }
        debounce.set_value(set_timeout_with_handle(look_up, REALM_DEBOUNCE).ok());
    };

    // The username step's Next: check the name here, then find out how it signs in. The
    // password step's Sign in: with a managed realm the browser posts the form itself (a real
    // navigation).
    let on_submit = move |event: SubmitEvent| {
        if step.get_untracked() == Step::Username {
            event.prevent_default();
            if let Some(problem) = username_problem(&upn.get_untracked()) {
                upn_problem.set(Some(problem));
                return;
            }
            if federated() {
                go_federated();
                return;
            }
            if managed() {
                step.set(Step::Password);
                return;
            }
            want_next.set_value(true);
            look_up();
            return;
        }
        let password = password_input
            .get_untracked()
            .map(|input| input.value())
            .unwrap_or_default();
        if password.is_empty() {
            event.prevent_default();
            password_problem.set(Some(Text::PasswordRequired));
            return;
        }
        if !managed() {
            // The realm answer for a retried name has not come yet: wait for it.
            event.prevent_default();
            return;
        }
        submitting.set(true);
        if in_oobe {
            // Hand the password to the bridge first, then post the form ourselves
            // (`submit()` fires no second submit event).
            event.prevent_default();
            let user = upn.get_untracked();
            spawn_local(async move {
                controller.prepare_auto_logon(user, password).await;
                if let Some(form) = form.get_untracked() {
                    let _ = form.submit();
                }
            });
        }
    };

    let on_back = Callback::new(move |_| {
        if step.get_untracked() == Step::Password {
            password_problem.set(None);
            step.set(Step::Username);
        } else {
            controller.back_from_sign_in();
        }
    });

    // The failed attempt's message belongs to the step it is about, and only while the name
    // is the one it was about and no new attempt is on its way.
    let failure = StoredValue::new(failure);
    let initial = StoredValue::new(initial_upn.clone());
    let failure_shown = move || {
        let (code, entry) = failure.get_value()?;
        let on_its_step = match entry.action {
            Action::ReenterPassword => step.get() == Step::Password,
            _ => step.get() == Step::Username,
        };
        let same_name = upn.get() == initial.get_value();
        (same_name && on_its_step && !submitting.get()).then_some((code, entry))
    };
    let has_error = move || failure_shown().is_some() || password_problem.get().is_some();

    view! {
        <PageHeading name="sign-in" text=t(Text::SignInHeading) />
        <form method="post" action=action class="sign-in-form" novalidate on:submit=on_submit node_ref=form
            data-step=move || if step.get() == Step::Password { "password" } else { "username" }>
            <input type="hidden" name="ctx" value=context.ctx />
            <div class="field" hidden=move || step.get() == Step::Password>
                <p class="intro">{t(Text::SignInIntro)}</p>
                <label for="upn">{t(Text::UpnLabel)}</label>
                <input id="upn" name="login" type="email" autocomplete="username"
                    spellcheck="false" autocapitalize="off" node_ref=upn_input
                    placeholder=t(Text::UpnPlaceholder) value=initial_upn
                    aria-describedby="realm-message upn-error"
                    aria-invalid=move || upn_problem.get().is_some().then_some("true")
                    data-testid="input-upn" on:input=on_upn_input />
                <p id="upn-error" class="field-error" role="alert" data-testid="upn-error"
                    hidden=move || upn_problem.get().is_none()>
                    {move || upn_problem.get().map(t)}
                </p>
                <RealmMessage realm=realm federation=federation />
            </div>
            <Show when=move || step.get() == Step::Password>
                <div class="identity" data-testid="signin-identity">{move || upn.get()}</div>
                <h2 class="step-heading" data-testid="step-password">{t(Text::PasswordHeading)}</h2>
                <div class="field">
                    <label for="passwd">{t(Text::PasswordLabel)}</label>
                    <input id="passwd" name="passwd" type="password" autocomplete="current-password"
                        node_ref=password_input
                        aria-describedby="signin-error password-error"
                        aria-invalid=move || has_error().then_some("true")
                        on:input=move |_| password_problem.set(None)
                        data-testid="input-password" />
                    <p id="password-error" class="field-error" role="alert" data-testid="password-error"
                        hidden=move || password_problem.get().is_none()>
                        {move || password_problem.get().map(t)}
                    </p>
                </div>
            </Show>
            {move || failure_shown().map(|(code, entry)| view! {
                <div id="signin-error" class="field-error" role="alert" data-testid="error-message"
                    data-code=code.clone()>
                    <p data-testid="error-summary">{t(entry.summary)}</p>
                    <p data-testid="error-advice">{t(entry.advice)}</p>
                    <p class="error-code" data-testid="error-code">{format(Text::ErrorCodeLine, &[&code])}</p>
                </div>
            })}
            <p class="field-hint" role="status" data-testid="signin-status">
                {move || submitting.get().then(|| t(Text::SigningIn))}
            </p>
            <ActionRow back=on_back cancel=super::in_settings()>
                {move || if step.get() == Step::Password {
                    view! {
                        <button type="submit" class="btn btn-primary" data-testid="btn-signin"
                            disabled=move || submitting.get()>
                            {t(Text::SignInButton)}
                        </button>
                    }.into_any()
                } else {
                    view! {
                        <button type="submit" class="btn btn-primary" data-testid="btn-next">
                            {t(Text::Next)}
                        </button>
                    }.into_any()
                }}
            </ActionRow>
        </form>
    }
}

/// What the realm lookup found, under the name field.
#[component]
fn RealmMessage(
    realm: Memo<Option<RealmLookup>>,
    federation: Memo<Option<(String, Option<String>)>>,
) -> impl IntoView {
    view! {
        <div id="realm-message" class="field-message" aria-live="polite" data-testid="realm-message">
            {move || {
                let view = match realm.get()? {
                    RealmLookup::Pending => view! { <p class="field-hint">{t(Text::CheckingAccount)}</p> }.into_any(),
                    RealmLookup::Known(NameSpaceType::Managed) => return None,
                    RealmLookup::Known(NameSpaceType::Unknown) => realm_error(Text::RealmUnknown),
                    RealmLookup::Known(NameSpaceType::Federated) => match federation.get() {
                        Some((brand, Some(_))) => view! {
                            <p class="field-note" data-testid="realm-federated">
                                {format(Text::FederatedRedirect, &[&brand])}
                            </p>
                        }.into_any(),
                        _ => realm_error(Text::FederatedNoUrl),
                    },
                    RealmLookup::Failed => realm_error(Text::RealmLookupFailed),
                };
                Some(view)
            }}
        </div>
    }
}

/// A realm answer that stops the sign-in, marked as the page's error message.
fn realm_error(text: Text) -> AnyView {
    view! { <p class="field-error" data-testid="error-message">{t(text)}</p> }.into_any()
}
