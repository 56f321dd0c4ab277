//! Who may decide an approval. Checked in the domain so every adapter gets the same answer.

use super::principal::{Actor, UserId};
use super::process::ApprovalSpec;
use super::release::ActivityRun;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("this approval is not waiting for a decision (it is {status})")]
    NotWaiting { status: String },
    #[error("you created or started this release, so you cannot approve or reject it; ask another approver")]
    OwnRelease,
    #[error("you are not an approver here; this approval needs one of: {approvers}")]
    NotAnApprover { approvers: String },
    #[error("you already approved this; your approval counts once ({approvals} of {min})")]
    AlreadyCounted { approvals: u32, min: u32 },
    #[error("this approval is already decided: {outcome}")]
    AlreadyDecided { outcome: String },
}

/// Who decided a closed approval round, as people read it: "approved by bob, carol" or
/// "rejected by bob". `None` while no one has decided.
pub fn outcome(run: &ActivityRun) -> Option<String> {
    if let Some(no) = run.decisions.iter().find(|d| !d.approve) {
        return Some(format!("rejected by {}", no.name));
    }
    let yes: Vec<&str> = run.decisions.iter().filter(|d| d.approve).map(|d| d.name.as_str()).collect();
    (!yes.is_empty()).then(|| format!("approved by {}", yes.join(", ")))
}

/// Checks that `actor` may approve or reject, in order: listed approver, not the release's own
/// creator or starter (when `forbid_self`), not already counted.
pub fn check_may_decide(
    spec: &ApprovalSpec,
    run: &ActivityRun,
    actor: &Actor,
    created_by: UserId,
    started_by: Option<UserId>,
) -> Result<(), Refusal> {
    if spec.forbid_self && (actor.user == created_by || Some(actor.user) == started_by) {
        return Err(Refusal::OwnRelease);
    }
    if !spec.approvers.iter().any(|p| p.matches(actor)) {
        let approvers = spec.approvers.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ");
        return Err(Refusal::NotAnApprover { approvers });
    }
    if run.decisions.iter().any(|d| d.user == actor.user) {
        let approvals = run.decisions.iter().filter(|d| d.approve).count() as u32;
        return Err(Refusal::AlreadyCounted { approvals, min: spec.min });
    }
    Ok(())
}
