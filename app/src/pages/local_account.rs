//! The local-account page, where personal use, "local account" and domain join lead (seed 000
//! step 1: domain join guides the user to a local account first and to Settings afterwards),
//! and the already-joined device (with its leave confirmation, where the host allows leaving). Creating the local account is Windows setup's job after this
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
/// organization, and how to leave it: a "Leave <organization>" button where the host allows
/// it, else the command to run.
#[component]
pub fn AlreadyJoinedPage(
    device_id: String,
    tenant: Option<String>,
    leave_command: Option<String>,
    can_leave: bool,
) -> impl IntoView {
    let controller = use_controller();
    let intro = match &tenant {
        Some(tenant) => format(Text::AlreadyJoinedOrg, &[tenant]),
        None => t(Text::AlreadyJoinedDetail).to_string(),
    };
    let leave_button = can_leave.then(|| {
        let label = format(Text::LeaveOrg, &[&organization(&tenant)]);
        let (device_id, tenant) = (device_id.clone(), tenant.clone());
        view! {
            <p class="intro" data-testid="leave-how">{t(Text::LeaveHow)}</p>
            <ActionRow>
                <button type="button" class="btn btn-primary" data-testid="btn-leave"
                    on:click=move |_| controller.ask_leave(device_id.clone(), tenant.clone())>
                    {label}
                </button>
            </ActionRow>
        }
    });
    let leave_command = leave_command.filter(|_| !can_leave).map(|command| {
        view! {
            <p class="intro" data-testid="leave-how">{t(Text::AlreadyJoinedLeave)}</p>
            <p class="field-note">{t(Text::LeaveCommandLabel)}</p>
            <pre class="command" dir="ltr" data-testid="leave-command"><code>{command}</code></pre>
            <ActionRow />
        }
    });
    let nothing = (!can_leave && leave_command.is_none()).then(|| view! { <ActionRow /> });
    view! {
        <PageHeading name="already-joined" text=t(Text::AlreadyJoinedHeading) />
        <p class="intro" data-testid="already-joined-message">{intro}</p>
        <dl class="details">
            {tenant.clone().map(|tenant| view! {
                <dt>{t(Text::TenantLabel)}</dt>
                <dd data-testid="joined-tenant">{tenant}</dd>
            })}
            <dt>{t(Text::DeviceIdLabel)}</dt>
            <dd data-testid="joined-device-id">{device_id}</dd>
        </dl>
        {leave_button}
        {leave_command}
        {nothing}
    }
}

/// The organization's name, or "your organization" when the host did not name it.
fn organization(tenant: &Option<String>) -> String {
    tenant
        .clone()
        .unwrap_or_else(|| t(Text::YourOrganization).to_string())
}

/// "Leave <organization>?": what leaving does; Cancel keeps the join, Leave leaves.
#[component]
pub fn ConfirmLeavePage(device_id: String, tenant: Option<String>) -> impl IntoView {
    let controller = use_controller();
    let name = organization(&tenant);
    let cancel = Callback::new(move |_| controller.keep_joined());
    view! {
        <PageHeading name="confirm-leave" text=format(Text::LeaveConfirmHeading, &[&name]) />
        <p class="intro" data-testid="leave-confirm-detail">{format(Text::LeaveConfirmDetail, &[&name])}</p>
        <dl class="details">
            <dt>{t(Text::DeviceIdLabel)}</dt>
            <dd>{device_id}</dd>
        </dl>
        <div class="actions">
            <div class="actions-start">
                <button type="button" class="btn btn-secondary" data-testid="btn-cancel-leave"
                    on:click=move |_| cancel.run(())>
                    {t(Text::Cancel)}
                </button>
            </div>
            <div class="actions-end">
                <button type="button" class="btn btn-primary" data-testid="btn-confirm-leave"
                    on:click=move |_| controller.leave(tenant.clone())>
                    {t(Text::LeaveConfirm)}
                </button>
            </div>
        </div>
    }
}
