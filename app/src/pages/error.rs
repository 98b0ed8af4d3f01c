//! Error page: what went wrong in plain words and what to do about it (from the code's
//! [`crate::errors`] entry), the action that helps (Try again only when retrying can help),
//! the step that failed, the "Error code" line for support, and the service's own text
//! folded under "More details".

use leptos::prelude::*;

use super::progress::phase_text;
use super::{ActionRow, PageHeading};
use crate::controller::use_controller;
use crate::errors::Action;
use crate::flow::FlowError;
use crate::i18n::{format, t, Text};

/// The label of an action's button.
fn action_label(action: Action) -> Text {
    match action {
        Action::TryAgain => Text::TryAgain,
        Action::SignInAgain | Action::ReenterPassword | Action::ChangeUsername => {
            Text::UseAnotherAccount
        }
        Action::ReenterCode | Action::StartOver => Text::StartOver,
        Action::Finish => Text::Continue,
    }
}

#[component]
pub fn ErrorPage(error: FlowError) -> impl IntoView {
    let controller = use_controller();
    let entry = error.entry();
    let failed_step = error
        .failed_phase
        .map(|phase| format(Text::ErrorFailedStep, &[t(phase_text(phase))]));
    let code_line = format(Text::ErrorCodeLine, &[&error.code]);
    // Acting needs a host (to sign in or join again); a page without one can only say so.
    let action = (error.can_start_over || entry.action == Action::Finish).then_some(entry.action);
    // Start over stays available beside a more specific action, as a way out.
    let start_over = error.can_start_over
        && !matches!(
            entry.action,
            Action::StartOver | Action::ReenterCode | Action::Finish
        );
    view! {
        <PageHeading name="error" text=t(Text::ErrorHeading) />
        <div class="error-box" role="alert" data-testid="error-message" data-code=error.code.clone()
            data-retryable=entry.action.retryable().to_string()>
            <p class="error-summary" data-testid="error-summary">{t(entry.summary)}</p>
            <p class="error-advice" data-testid="error-advice">{t(entry.advice)}</p>
            {failed_step.map(|step| view! { <p class="error-detail" data-testid="error-phase">{step}</p> })}
            <p class="error-detail" data-testid="error-code">{code_line}</p>
            {error.detail.map(|detail| view! {
                <details class="error-more">
                    <summary>{t(Text::MoreDetails)}</summary>
                    <p class="error-detail" data-testid="error-detail">{detail}</p>
                </details>
            })}
        </div>
        <ActionRow>
            {start_over.then(|| view! {
                <button type="button" class="btn btn-secondary" data-testid="btn-start-over"
                    on:click=move |_| controller.start_over()>
                    {t(Text::StartOver)}
                </button>
            })}
            {action.map(|action| {
                let testid = match action {
                    Action::TryAgain => "btn-try-again",
                    Action::SignInAgain | Action::ReenterPassword | Action::ChangeUsername => "btn-another-account",
                    Action::Finish => "btn-continue",
                    Action::ReenterCode | Action::StartOver => "btn-start-over",
                };
                view! {
                    <button type="button" class="btn btn-primary" data-testid=testid
                        on:click=move |_| controller.act(action)>
                        {t(action_label(action))}
                    </button>
                }
            })}
        </ActionRow>
    }
}
