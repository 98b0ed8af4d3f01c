//! One module per page, plus the pieces every page shares: the focused heading and the button
//! row with Back on the left and the forward action on the right.

pub mod done;
pub mod error;
pub mod join_options;
pub mod local_account;
pub mod ownership;
pub mod progress;
pub mod second_factor;
pub mod sign_in;
pub mod terms;
pub mod working;

use leptos::html;
use leptos::prelude::*;

/// Whether the experience runs in Settings (sign-in pages offer Cancel instead of Back).
pub fn in_settings() -> bool {
    crate::controller::use_controller()
        .host
        .get_untracked()
        .is_some_and(|host| host.flow == cxh_wire::bridge::HostFlow::Settings)
}

/// The page's `<h1>`. It takes focus when the page shows, so keyboard and screen-reader users
/// start at the new page instead of on a button that no longer exists.
#[component]
pub fn PageHeading(
    /// Page name for the stable selector `data-testid="page-<name>"`.
    name: &'static str,
    #[prop(into)] text: String,
) -> impl IntoView {
    let heading = NodeRef::<html::H1>::new();
    Effect::new(move |_| {
        if let Some(element) = heading.get() {
            let _ = element.focus();
        }
    });
    view! {
        <h1 class="page-heading" tabindex="-1" node_ref=heading data-testid=format!("page-{name}")>
            {text}
        </h1>
    }
}

/// The row of page actions: Back (when there is somewhere to go back to) at the start, the
/// forward actions at the end, on every page in the same place. In right-to-left languages the
/// row mirrors (start is on the right).
#[component]
pub fn ActionRow(
    /// Where Back goes; no Back button when `None`.
    #[prop(optional)]
    back: Option<Callback<()>>,
    /// Show Cancel (tell the Settings host page `cancelled`) in place of Back.
    #[prop(optional)]
    cancel: bool,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let controller = crate::controller::use_controller();
    let back = back.filter(|_| !cancel);
    view! {
        <div class="actions">
            <div class="actions-start">
                {cancel.then(|| view! {
                    <button type="button" class="btn btn-secondary" data-testid="btn-cancel"
                        on:click=move |_| controller.cancel()>
                        {crate::i18n::t(crate::i18n::Text::Cancel)}
                    </button>
                })}
                {back.map(|back| view! {
                    <button type="button" class="btn btn-secondary" data-testid="btn-back"
                        on:click=move |_| back.run(())>
                        {crate::i18n::t(crate::i18n::Text::Back)}
                    </button>
                })}
            </div>
            <div class="actions-end">{children.map(|children| children())}</div>
        </div>
    }
}

/// After the device left its organization from this app: which one, and whether its device
/// object was deleted in the tenant or remains there (shown on the start page, announced).
#[component]
pub fn LeftNoticeBanner() -> impl IntoView {
    use crate::i18n::{format, t, Text};
    let controller = crate::controller::use_controller();
    move || {
        controller.left.get().map(|left| {
            let name = left
                .tenant
                .clone()
                .unwrap_or_else(|| t(Text::YourOrganization).to_string());
            let tenant_side = if left.deleted_in_tenant {
                Text::LeftDeleted
            } else {
                Text::LeftRemains
            };
            view! {
                <div class="field-note left-notice" role="status" data-testid="left-notice"
                    data-deleted-in-tenant=left.deleted_in_tenant.to_string()>
                    <p>{format(Text::LeftNotice, &[&name])}</p>
                    <p data-testid="left-tenant-side">{t(tenant_side)}</p>
                </div>
            }
        })
    }
}

/// A large option button (title and explanation), as on the OOBE choice pages.
#[component]
pub fn ChoiceButton(
    testid: &'static str,
    title: &'static str,
    detail: &'static str,
    #[prop(optional)] primary: bool,
    on_choose: Callback<()>,
) -> impl IntoView {
    let class = if primary {
        "choice choice-primary"
    } else {
        "choice"
    };
    view! {
        <button type="button" class=class data-testid=testid on:click=move |_| on_choose.run(())>
            <span class="choice-title">{title}</span>
            <span class="choice-detail">{detail}</span>
        </button>
    }
}
