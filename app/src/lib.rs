//! The join web app of cxh-join: the pages Windows' Cloud eXperience Host shows to join a
//! device to Microsoft Entra ID (ownership, join options, sign-in, progress, done), as a
//! Leptos client-side app served by the authority at `/WebApp/CloudDomainJoin/4`.
//!
//! The pure modules ([`flow`], [`errors`], [`authority`] URLs, [`id_token`], [`i18n`], [`crypto`] hex)
//! build natively and carry the unit tests; the UI, the bridge client and the browser calls
//! exist only in the wasm32 build.

pub mod authority;
pub mod crypto;
pub mod embed;
pub mod errors;
pub mod federation;
pub mod flow;
pub mod i18n;
pub mod id_token;
pub mod mdm;

#[cfg(target_arch = "wasm32")]
pub mod bridge;
#[cfg(target_arch = "wasm32")]
pub mod controller;
#[cfg(target_arch = "wasm32")]
pub mod pages;

#[cfg(target_arch = "wasm32")]
pub use browser_app::{mount, App};

#[cfg(target_arch = "wasm32")]
mod browser_app {
    use leptos::prelude::*;

    use crate::controller::Controller;
    use crate::flow::{ErrorReason, FlowError, Page};
    use crate::pages::done::{DonePage, HandoverPage};
    use crate::pages::error::ErrorPage;
    use crate::pages::join_options::JoinOptionsPage;
    use crate::pages::local_account::{AlreadyJoinedPage, ConfirmLeavePage, NotCoveredPage};
    use crate::pages::ownership::OwnershipPage;
    use crate::pages::progress::ProgressPage;
    use crate::pages::second_factor::SecondFactorPage;
    use crate::pages::sign_in::SignInPage;
    use crate::pages::working::WorkingPage;

    /// The whole app: one frame, the page the flow is on inside it.
    #[component]
    pub fn App() -> impl IntoView {
        let controller = Controller::from_session();
        provide_context(controller);
        controller.boot();
        view! {
            <main class="oobe">
                <section class="frame">
                    {move || current_page(controller, controller.page.get())}
                </section>
            </main>
        }
    }

    fn current_page(controller: Controller, page: Page) -> AnyView {
        match page {
            Page::Working(on) => view! { <WorkingPage on=on /> }.into_any(),
            Page::Ownership => view! { <OwnershipPage /> }.into_any(),
            Page::JoinOptions => view! { <JoinOptionsPage /> }.into_any(),
            Page::AlreadyJoined { device_id, tenant, leave_command, can_leave } => {
                view! { <AlreadyJoinedPage device_id=device_id tenant=tenant leave_command=leave_command can_leave=can_leave /> }.into_any()
            }
            Page::ConfirmLeave { device_id, tenant } => {
                view! { <ConfirmLeavePage device_id=device_id tenant=tenant /> }.into_any()
            }
            Page::NotCovered { choice, back } => view! { <NotCoveredPage choice=choice back=back /> }.into_any(),
            Page::SignIn(context) => match controller.host.get_untracked() {
                Some(host) => view! { <SignInPage context=context host=host /> }.into_any(),
                // The controller shows sign-in only with a host; without one the form could
                // not say where the join runs.
                None => {
                    view! { <ErrorPage error=FlowError::new(ErrorReason::SessionLost, None, false) /> }.into_any()
                }
            },
            Page::Terms(visit) => view! { <crate::pages::terms::TermsPage visit=visit /> }.into_any(),
            Page::SecondFactor(context) => view! { <SecondFactorPage context=context /> }.into_any(),
            Page::Progress => view! { <ProgressPage /> }.into_any(),
            Page::Done(result) => view! { <DonePage result=result /> }.into_any(),
            Page::Handover(result) => view! { <HandoverPage result=result /> }.into_any(),
            Page::Error(error) => view! { <ErrorPage error=error /> }.into_any(),
        }
    }

    /// Mount the app into `<body>` (the controller dresses the document for the host: language,
    /// direction, theme).
    pub fn mount() {
        leptos::mount::mount_to_body(App);
    }
}
