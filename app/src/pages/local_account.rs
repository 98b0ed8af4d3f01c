//! The local-account page, where personal use, "local account" and domain join lead (seed 000
//! step 1: domain join guides the user to a local account first and to Settings afterwards),
//! and the already-joined device. Creating the local account is Windows setup's job after this
//! experience closes; a Microsoft account sign-in is out of scope and the page says so.

use leptos::prelude::*;

use super::{ActionRow, PageHeading};
use crate::controller::use_controller;
use crate::flow::{BackTo, OtherChoice};
use crate::i18n::{format, t, Text};

#[component]
pub fn NotCoveredPage(choice: OtherChoice, back: Option<BackTo>) -> impl IntoView {
    let controller = use_controller();
    let explanation = match choice {
        OtherChoice::Personal => Text::NotCoveredPersonal,
        OtherChoice::LocalAccount => Text::NotCoveredLocal,
        OtherChoice::DomainJoin => Text::NotCoveredDomain,
    };
    let back = back.map(|to| Callback::new(move |_| controller.go_back(to)));
    let msa_note = (choice != OtherChoice::DomainJoin).then(|| {
        view! { <p class="field-note" data-testid="msa-out-of-scope">{t(Text::MsaOutOfScope)}</p> }
    });
    // Next hands the device back to Windows setup, which creates the local account.
    let next = move || {
        view! {
            <button type="button" class="btn btn-primary" data-testid="btn-next"
                on:click=move |_| controller.finish()>
                {t(Text::Next)}
            </button>
        }
    };
    view! {
        <PageHeading name="local-account" text=t(Text::NotCoveredHeading) />
        <p class="intro" data-testid="not-covered-message">{t(explanation)}</p>
        {msa_note}
        {match back {
            Some(back) => view! { <ActionRow back=back>{next()}</ActionRow> }.into_any(),
            None => view! { <ActionRow>{next()}</ActionRow> }.into_any(),
        }}
    }
}

/// The host says the device is joined already: a second join is refused, so say to which
/// organization, and how to leave it (this host has no button for that: the command).
#[component]
pub fn AlreadyJoinedPage(
    device_id: String,
    tenant: Option<String>,
    leave_command: Option<String>,
) -> impl IntoView {
    let intro = match &tenant {
        Some(tenant) => format(Text::AlreadyJoinedOrg, &[tenant]),
        None => t(Text::AlreadyJoinedDetail).to_string(),
    };
    view! {
        <PageHeading name="already-joined" text=t(Text::AlreadyJoinedHeading) />
        <p class="intro" data-testid="already-joined-message">{intro}</p>
        <dl class="details">
            {tenant.map(|tenant| view! {
                <dt>{t(Text::TenantLabel)}</dt>
                <dd data-testid="joined-tenant">{tenant}</dd>
            })}
            <dt>{t(Text::DeviceIdLabel)}</dt>
            <dd data-testid="joined-device-id">{device_id}</dd>
        </dl>
        {leave_command.map(|command| view! {
            <p class="intro" data-testid="leave-how">{t(Text::AlreadyJoinedLeave)}</p>
            <p class="field-note">{t(Text::LeaveCommandLabel)}</p>
            <pre class="command" dir="ltr" data-testid="leave-command"><code>{command}</code></pre>
        })}
        <ActionRow />
    }
}
