//! "Just a moment" page shown while the app waits for the bridge or the authority.

use leptos::prelude::*;

use super::PageHeading;
use crate::flow::WorkingOn;
use crate::i18n::{t, Text};

#[component]
pub fn WorkingPage(on: WorkingOn) -> impl IntoView {
    let status = match on {
        WorkingOn::Connecting => Text::Connecting,
        WorkingOn::Redirecting => Text::Redirecting,
        WorkingOn::CheckingSignIn => Text::CheckingSignIn,
        WorkingOn::Leaving => Text::Leaving,
    };
    view! {
        <PageHeading name="working" text=t(Text::WorkingHeading) />
        <div class="working">
            <span class="spinner" aria-hidden="true"></span>
            <p aria-live="polite" role="status" data-testid="working-status">{t(status)}</p>
        </div>
    }
}
