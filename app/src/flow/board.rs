//! The progress board: the display state of each join phase, from the bridge's frames.

use cxh_wire::bridge::{JoinPhase, PhaseState};

/// Display state of one join phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PhaseStatus {
    #[default]
    Pending,
    InProgress,
    Done,
    Failed,
}

impl PhaseStatus {
    /// Value of the item's `data-state`.
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseStatus::Pending => "pending",
            PhaseStatus::InProgress => "in_progress",
            PhaseStatus::Done => "done",
            PhaseStatus::Failed => "failed",
        }
    }
}

/// The status of every phase of [`JoinPhase::WITH_MDM`], in that order (the page shows the MDM
/// ones only when MDM applies).
pub type PhaseBoard = [PhaseStatus; JoinPhase::WITH_MDM.len()];

fn phase_index(phase: JoinPhase) -> usize {
    JoinPhase::WITH_MDM
        .iter()
        .position(|candidate| *candidate == phase)
        .unwrap_or_default()
}

/// Apply a `progress` frame. A started phase implies the earlier ones are done, so a missed
/// frame cannot leave a stale "in progress" above the current one.
pub fn apply_progress(board: &mut PhaseBoard, phase: JoinPhase, state: PhaseState) {
    let index = phase_index(phase);
    for earlier in board.iter_mut().take(index) {
        *earlier = PhaseStatus::Done;
    }
    board[index] = match state {
        PhaseState::Started => PhaseStatus::InProgress,
        PhaseState::Completed => PhaseStatus::Done,
    };
}

/// Apply a `joined` frame: everything is done.
pub fn complete_all(board: &mut PhaseBoard) {
    *board = [PhaseStatus::Done; JoinPhase::WITH_MDM.len()];
}

/// Apply a `failed` frame: the named phase (or else the one in progress) failed.
pub fn fail_phase(board: &mut PhaseBoard, phase: Option<JoinPhase>) {
    let index = match phase {
        Some(phase) => Some(phase_index(phase)),
        None => board
            .iter()
            .position(|status| *status == PhaseStatus::InProgress),
    };
    if let Some(index) = index {
        board[index] = PhaseStatus::Failed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_board_follows_frames() {
        let mut board = PhaseBoard::default();
        apply_progress(&mut board, JoinPhase::Discovering, PhaseState::Started);
        assert_eq!(board[0], PhaseStatus::InProgress);
        apply_progress(&mut board, JoinPhase::BuildingRequest, PhaseState::Started);
        assert_eq!(
            &board[..3],
            &[
                PhaseStatus::Done,
                PhaseStatus::Done,
                PhaseStatus::InProgress
            ]
        );
        assert_eq!(board[3], PhaseStatus::Pending);
        fail_phase(&mut board, None);
        assert_eq!(board[2], PhaseStatus::Failed);
        fail_phase(&mut board, Some(JoinPhase::Registering));
        assert_eq!(board[3], PhaseStatus::Failed);
        complete_all(&mut board);
        assert!(board.iter().all(|status| *status == PhaseStatus::Done));
        assert_eq!(PhaseStatus::InProgress.as_str(), "in_progress");
    }
}
