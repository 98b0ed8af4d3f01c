//! Error page: what went wrong in plain words, the technical detail below it, and Start over
//! when there is a host to start over with.

use leptos::prelude::*;

use super::progress::phase_text;
use super::{ActionRow, PageHeading};
use crate::controller::use_controller;
use crate::flow::{ErrorReason, FlowError};
use crate::i18n::{format, t, Text};

fn summary(reason: ErrorReason) -> Text {
    match reason {
        ErrorReason::NoHost => Text::ErrorNoHost,
        ErrorReason::BridgeUnreachable => Text::ErrorBridgeUnreachable,
        ErrorReason::BridgeLost => Text::ErrorBridgeLost,
        ErrorReason::Authority => Text::ErrorAuthority,
        ErrorReason::AuthorityUnreachable => Text::ErrorAuthorityUnreachable,
        ErrorReason::InvalidToken => Text::ErrorInvalidToken,
        ErrorReason::SessionLost => Text::ErrorSessionLost,
        ErrorReason::JoinFailed => Text::ErrorJoinFailed,
        ErrorReason::NoRandomness => Text::ErrorNoRandomness,
        ErrorReason::TermsNotAccepted => Text::ErrorTermsNotAccepted,
        ErrorReason::TermsUnexpected => Text::ErrorTermsUnexpected,
        ErrorReason::JoinedNotManaged => Text::ErrorJoinedNotManaged,
    }
}

#[component]
pub fn ErrorPage(error: FlowError) -> impl IntoView {
    let controller = use_controller();
    let detail = error
        .detail
        .map(|detail| format(Text::ErrorDetailPrefix, &[&detail]));
    let failed_step = error
        .failed_phase
        .map(|phase| format(Text::ErrorFailedStep, &[t(phase_text(phase))]));
    view! {
        <PageHeading name="error" text=t(Text::ErrorHeading) />
        <div class="error-box" role="alert" data-testid="error-message">
            <p class="error-summary">{t(summary(error.reason))}</p>
            {failed_step.map(|step| view! { <p class="error-detail" data-testid="error-phase">{step}</p> })}
            {detail.map(|detail| view! { <p class="error-detail">{detail}</p> })}
        </div>
        <ActionRow>
            {error.can_start_over.then(|| view! {
                <button type="button" class="btn btn-primary" data-testid="btn-start-over"
                    on:click=move |_| controller.start_over()>
                    {t(Text::StartOver)}
                </button>
            })}
        </ActionRow>
    }
}
