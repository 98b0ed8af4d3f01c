//! Done page: the device is joined; what it was joined as, and how to go on (Continue in
//! OOBE, sign out in Settings so the work account can sign in). In OOBE it also says how the
//! user gets into Windows: automatically when the bridge prepared the automatic sign-in buffer
//! (managed users), otherwise at the sign-in screen (federated users, or no buffer).
//! Continue in OOBE shows where setup goes next ([`HandoverPage`]): the user's first sign-in.

use cxh_wire::bridge::{HostFlow, JoinResult};
use leptos::prelude::*;

use super::{ActionRow, PageHeading};
use crate::controller::use_controller;
use crate::i18n::{format, t, Text};

#[component]
pub fn DonePage(result: JoinResult) -> impl IntoView {
    let controller = use_controller();
    let in_settings = controller
        .host
        .get_untracked()
        .is_some_and(|host| host.flow == HostFlow::Settings);
    let heading = format(Text::DoneHeading, &[&result.tenant_display_name]);
    let display_name = controller.display_name.get_untracked();
    let logon = (!in_settings).then(|| {
        if result.auto_logon_prepared {
            view! { <p class="intro" data-testid="done-auto-logon">{t(Text::AutoLogonPrepared)}</p> }
        } else {
            view! { <p class="intro" data-testid="done-sign-in-at-logon">{t(Text::SignInAtLogon)}</p> }
        }
    });
    view! {
        <PageHeading name="done" text=heading />
        <p class="intro">{t(Text::DoneIntro)}</p>
        <dl class="details">
            <dt>{t(Text::DeviceNameLabel)}</dt>
            <dd data-testid="done-device-name">{result.device_name}</dd>
            <dt>{t(Text::TenantLabel)}</dt>
            <dd data-testid="done-tenant">{result.tenant_display_name}</dd>
            {display_name.map(|name| view! {
                <dt>{t(Text::DisplayNameLabel)}</dt>
                <dd data-testid="done-display-name">{name}</dd>
            })}
            <dt>{t(Text::UserLabel)}</dt>
            <dd data-testid="done-user">{result.user_upn}</dd>
            <dt>{t(Text::DeviceIdLabel)}</dt>
            <dd data-testid="done-device-id">{result.device_id}</dd>
        </dl>
        {logon}
        {in_settings.then(|| view! { <p class="intro">{t(Text::SignOutDetail)}</p> })}
        <ActionRow>
            {if in_settings {
                view! {
                    <button type="button" class="btn btn-primary" data-testid="btn-sign-out"
                        on:click=move |_| controller.finish()>
                        {t(Text::SignOutToFinish)}
                    </button>
                }.into_any()
            } else {
                view! {
                    <button type="button" class="btn btn-primary" data-testid="btn-continue"
                        on:click=move |_| controller.finish()>
                        {t(Text::Continue)}
                    </button>
                }.into_any()
            }}
        </ActionRow>
    }
}

/// After Continue in OOBE: the join is over and setup hands the device back to Windows, whose
/// next step is the user's first sign-in (automatic with the prepared buffer, else at the
/// sign-in screen); single sign-on is ready after it. The host closes the window.
#[component]
pub fn HandoverPage(result: JoinResult) -> impl IntoView {
    let controller = use_controller();
    let who = controller
        .display_name
        .get_untracked()
        .unwrap_or_else(|| result.user_upn.clone());
    let how = if result.auto_logon_prepared {
        Text::AutoLogonPrepared
    } else {
        Text::SignInAtLogon
    };
    view! {
        <PageHeading name="handover" text=t(Text::NextHeading) />
        <p class="intro" data-testid="next-first-sign-in">
            {format(Text::NextFirstSignIn, &[&who, &result.user_upn])}
        </p>
        <p class="intro" data-testid="next-how">{t(how)}</p>
        <p class="intro" data-testid="next-sso">{t(Text::NextSso)}</p>
        <p class="field-note">{t(Text::NextClosing)}</p>
    }
}
