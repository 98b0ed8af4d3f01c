//! Join progress: the six dsreg phases (and the three MDM ones when MDM applies) as a list, each pending, in progress, done or failed,
//! updated from the bridge's `progress` frames inside a polite live region.

use cxh_wire::bridge::JoinPhase;
use leptos::prelude::*;

use super::PageHeading;
use crate::controller::use_controller;
use crate::flow::PhaseStatus;
use crate::i18n::{format, t, Text};

/// The name of a phase as the user reads it.
pub fn phase_text(phase: JoinPhase) -> Text {
    match phase {
        JoinPhase::Discovering => Text::PhaseDiscovering,
        JoinPhase::CreatingKeys => Text::PhaseCreatingKeys,
        JoinPhase::BuildingRequest => Text::PhaseBuildingRequest,
        JoinPhase::Registering => Text::PhaseRegistering,
        JoinPhase::InstallingCertificate => Text::PhaseInstallingCertificate,
        JoinPhase::SavingJoinInfo => Text::PhaseSavingJoinInfo,
        JoinPhase::MdmDiscovering => Text::PhaseMdmDiscovering,
        JoinPhase::MdmEnrolling => Text::PhaseMdmEnrolling,
        JoinPhase::MdmInstallingPolicy => Text::PhaseMdmInstallingPolicy,
    }
}

fn status_text(status: PhaseStatus) -> Text {
    match status {
        PhaseStatus::Pending => Text::StatePending,
        PhaseStatus::InProgress => Text::StateInProgress,
        PhaseStatus::Done => Text::StateDone,
        PhaseStatus::Failed => Text::StateFailed,
    }
}

#[component]
pub fn ProgressPage() -> impl IntoView {
    let controller = use_controller();
    // The MDM phases follow the six registration ones, only when MDM applies.
    let shown = if controller.mdm.get_untracked() {
        &JoinPhase::WITH_MDM[..]
    } else {
        &JoinPhase::ALL[..]
    };
    view! {
        <PageHeading name="progress" text=t(Text::ProgressHeading) />
        <p class="intro">{t(Text::ProgressIntro)}</p>
        // Screen readers hear one sentence per change (the current step), not the whole list.
        <p class="visually-hidden" role="status" aria-live="polite" data-testid="progress-status">
            {move || announcement(controller, shown)}
        </p>
        <div class="phases-region">
            <ol class="phases">
                {shown.iter().enumerate().map(|(index, phase)| view! {
                    <PhaseItem index=index phase=*phase />
                }).collect_view()}
            </ol>
        </div>
    }
}

/// "Step 3 of 6: Preparing the registration request — In progress": the latest phase that has
/// started (or the last one, once all are done).
fn announcement(controller: crate::controller::Controller, shown: &[JoinPhase]) -> String {
    let board = controller.phases.get();
    let current = board[..shown.len()]
        .iter()
        .rposition(|status| *status != PhaseStatus::Pending);
    let Some(index) = current else {
        return String::new();
    };
    format(
        Text::ProgressStatus,
        &[
            &(index + 1).to_string(),
            &shown.len().to_string(),
            t(phase_text(shown[index])),
            t(status_text(board[index])),
        ],
    )
}

#[component]
fn PhaseItem(index: usize, phase: JoinPhase) -> impl IntoView {
    let controller = use_controller();
    let status = Memo::new(move |_| controller.phases.with(|board| board[index]));
    view! {
        <li class="phase" data-testid=format!("phase-{}", phase.as_str())
            data-state=move || status.get().as_str()>
            <span class="phase-icon" aria-hidden="true"></span>
            <span class="phase-name">{t(phase_text(phase))}</span>
            <span class="phase-state">{move || t(status_text(status.get()))}</span>
        </li>
    }
}
