//! Sign-in page (seed 001 phase C): the user's name, user realm discovery, then the password,
//! posted with a genuine HTML form submission to the authority's CXH login endpoint.
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
use crate::authority::{fetch_user_realm, login_action, realm_domain};
use crate::controller::use_controller;
use crate::federation::sts_sign_in_url;
use crate::flow::SignInContext;
use crate::i18n::{format, t, Text};

/// Pause in typing after which the realm is looked up without waiting for Next.
const REALM_DEBOUNCE: Duration = Duration::from_millis(600);

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
    // Focus moves to the password only when the user asked to go on (Next, or a retry after a
    // wrong password), never because a lookup finished while they were typing.
    let focus_password = StoredValue::new(context.error.is_some());
    let password_input = NodeRef::<html::Input>::new();
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

    // The user pressed Next before the answer came: go on once it says Federated.
    Effect::new(move |_| {
        if federated() && focus_password.get_value() {
            focus_password.set_value(false);
            go_federated();
        }
    });

    Effect::new(move |_| {
        if managed() && focus_password.get_value() {
            if let Some(input) = password_input.get() {
                focus_password.set_value(false);
                let _ = input.focus();
            }
        }
    });

    let on_upn_input = move |event: leptos::ev::Event| {
        upn.set(event_target_value(&event));
        if let Some(pending) = debounce.get_value() {
            pending.clear();
        }
        debounce.set_value(set_timeout_with_handle(look_up, REALM_DEBOUNCE).ok());
    };

    // With a managed realm the browser posts the form itself (a real navigation); before that,
    // the submit button means Next: find out how this account signs in.
    let on_submit = move |event: SubmitEvent| {
        if realm.get_untracked() == Some(RealmLookup::Known(NameSpaceType::Managed)) {
            if in_oobe {
                // Hand the password to the bridge first, then post the form ourselves
                // (`submit()` fires no second submit event).
                event.prevent_default();
                let password = password_input
                    .get_untracked()
                    .map(|input| input.value())
                    .unwrap_or_default();
                let user = upn.get_untracked();
                spawn_local(async move {
                    controller.prepare_auto_logon(user, password).await;
                    if let Some(form) = form.get_untracked() {
                        let _ = form.submit();
                    }
                });
            }
            return;
        }
        event.prevent_default();
        if realm.get_untracked() == Some(RealmLookup::Known(NameSpaceType::Federated)) {
            go_federated();
            return;
        }
        focus_password.set_value(true);
        look_up();
    };

    let authority_error = context
        .error
        .map(|error| error.description.unwrap_or(error.error));
    let has_error = authority_error.is_some();

    view! {
        <PageHeading name="sign-in" text=t(Text::SignInHeading) />
        <p class="intro">{t(Text::SignInIntro)}</p>
        <form method="post" action=action class="sign-in-form" on:submit=on_submit node_ref=form>
            <input type="hidden" name="ctx" value=context.ctx />
            <div class="field">
                <label for="upn">{t(Text::UpnLabel)}</label>
                <input id="upn" name="login" type="email" autocomplete="username" required
                    spellcheck="false" autocapitalize="off"
                    placeholder=t(Text::UpnPlaceholder) value=initial_upn
                    aria-describedby="realm-message"
                    data-testid="input-upn" on:input=on_upn_input />
                <RealmMessage realm=realm federation=federation />
            </div>
            <Show when=managed>
                <div class="field">
                    <label for="passwd">{t(Text::PasswordLabel)}</label>
                    <input id="passwd" name="passwd" type="password" autocomplete="current-password"
                        required node_ref=password_input
                        aria-describedby=has_error.then_some("signin-error")
                        aria-invalid=has_error.then_some("true")
                        data-testid="input-password" />
                </div>
            </Show>
            // The failed attempt's reason belongs next to the password it was about; once the
            // name points at another realm it no longer applies.
            {authority_error.map(|text| view! {
                <Show when=managed>
                    <p id="signin-error" class="field-error" role="alert" data-testid="error-message">
                        {text.clone()}
                    </p>
                </Show>
            })}
            <ActionRow back=Callback::new(move |_| controller.back_from_sign_in()) cancel=super::in_settings()>
                {move || if managed() {
                    view! {
                        <button type="submit" class="btn btn-primary" data-testid="btn-signin">
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
