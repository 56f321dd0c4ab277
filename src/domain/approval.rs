//! Who may decide an approval, and when it is complete. Checked in the domain so every adapter
//! gets the same answer.
//!
//! Rules, in the order they are checked:
//! - a time lock (`not_before` / `wait`) refuses every click before it opens;
//! - one person, one vote per approval, across all its levels: a person (or the authority they
//!   act for by delegation) counts once, however many roles they hold;
//! - the release's creator and starter cannot decide (`forbid_self`), and neither can someone
//!   acting for them by delegation;
//! - a level opens when the one before is complete: `min` distinct approvers, and each group in
//!   `require` supplied by its own approvers (one person fills one group, not two).

use super::delegation::Authority;
use super::principal::{Actor, Initiator, Principal, UserId};
use super::process::{ApprovalLevel, ApprovalSpec, GroupMin, OnExpiry};
use super::release::{ActivityRun, Decision};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("this approval is not waiting for a decision (it is {status})")]
    NotWaiting { status: String },
    #[error("you created or started this release, so you cannot approve or reject it; ask another approver")]
    OwnRelease,
    #[error("you act for {delegator} here, who created or started this release; neither of you can decide it")]
    DelegatorsOwnRelease { delegator: String },
    #[error("you are not an approver {level}; it needs one of: {}", approvers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    NotAnApprover { level: String, approvers: Vec<Principal> },
    #[error("you already approved or rejected this; a person counts once ({approvals} of {min}{level})")]
    AlreadyCounted { approvals: u32, min: u32, level: String },
    #[error("{delegator}, whom you act for, already counts on this approval")]
    DelegatorCounted { delegator: String },
    #[error("this approval is already decided: {outcome}")]
    AlreadyDecided { outcome: String },
    #[error("this approval is time-locked until {} UTC; decisions before then are refused", opens_at.format("%Y-%m-%d %H:%M"))]
    Locked { opens_at: DateTime<Utc> },
}

/// The identity a decision is counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting {
    /// Index of the level the decision counts for.
    pub level: usize,
    /// The delegator, when the person acts by delegation.
    pub on_behalf_of: Option<(UserId, String)>,
    /// The level's principals the acting identity matched, as written in the process.
    pub principals: Vec<String>,
}

/// Who decided a closed approval round, as people read it: "approved by bob, carol" or
/// "rejected by bob". `None` while no one has decided.
pub fn outcome(run: &ActivityRun) -> Option<String> {
    if let Some(no) = run.decisions.iter().find(|d| !d.approve) {
        return Some(format!("rejected by {}", no.shown_name()));
    }
    let yes: Vec<String> = run.decisions.iter().filter(|d| d.approve).map(Decision::shown_name).collect();
    (!yes.is_empty()).then(|| format!("approved by {}", yes.join(", ")))
}

/// The first level that is not complete yet; `None` once every level is.
pub fn open_level(spec: &ApprovalSpec, run: &ActivityRun) -> Option<usize> {
    spec.levels().iter().enumerate().position(|(i, level)| !level_complete(level, run, i))
}

/// How far level `index` got: distinct approvals counted for it.
pub fn approvals_at(run: &ActivityRun, index: usize) -> u32 {
    run.decisions.iter().filter(|d| d.approve && d.level as usize == index).count() as u32
}

fn level_complete(level: &ApprovalLevel, run: &ActivityRun, index: usize) -> bool {
    let yes: Vec<&[String]> =
        run.decisions.iter().filter(|d| d.approve && d.level as usize == index).map(|d| d.principals.as_slice()).collect();
    yes.len() as u32 >= level.min && groups_met(&level.require, &yes)
}

/// Whether each group gets its `min` from distinct approvers, no approver filling two places:
/// a bipartite matching (Kuhn's augmenting paths) of group places to approvers. Sizes are tiny.
fn groups_met(groups: &[GroupMin], approvers: &[&[String]]) -> bool {
    let places: Vec<String> = groups.iter().flat_map(|g| std::iter::repeat_n(g.from.to_string(), g.min as usize)).collect();
    let mut taken_by: Vec<Option<usize>> = vec![None; approvers.len()];
    fn place(p: usize, places: &[String], approvers: &[&[String]], seen: &mut [bool], taken_by: &mut [Option<usize>]) -> bool {
        for (a, principals) in approvers.iter().enumerate() {
            if seen[a] || !principals.contains(&places[p]) {
                continue;
            }
            seen[a] = true;
            if taken_by[a].is_none_or(|other| place(other, places, approvers, seen, taken_by)) {
                taken_by[a] = Some(p);
                return true;
            }
        }
        false
    }
    (0..places.len()).all(|p| place(p, &places, approvers, &mut vec![false; approvers.len()], &mut taken_by))
}

/// Everyone who may decide the level at `index` now: its approvers and groups, plus whom the
/// approval escalated to.
pub fn deciders(spec: &ApprovalSpec, index: usize, escalated: bool) -> Vec<Principal> {
    let mut out: Vec<Principal> = spec.levels().get(index).map(|l| l.principals().cloned().collect()).unwrap_or_default();
    if let (true, OnExpiry::Escalate(to)) = (escalated, &spec.on_expiry) {
        out.extend(to.iter().cloned());
    }
    out.dedup();
    out
}

/// The release-level facts a decision is checked against.
pub struct Context<'a> {
    pub created_by: Initiator,
    pub started_by: Option<Initiator>,
    pub process: &'a str,
    pub now: DateTime<Utc>,
}

/// Checks that `actor` may decide the open level now, as themselves or for someone who
/// delegated to them, and says under which identity the decision counts. A person who is an
/// approver in their own right acts as themselves.
pub fn check_may_decide(
    spec: &ApprovalSpec,
    run: &ActivityRun,
    actor: &Actor,
    authority: &Authority,
    cx: &Context,
) -> Result<Acting, Refusal> {
    if let Some(opens_at) = run.approval.opens_at.filter(|at| *at > cx.now) {
        return Err(Refusal::Locked { opens_at });
    }
    let own = |user: UserId| spec.forbid_self && (cx.created_by == user.into() || cx.started_by == Some(user.into()));
    if own(actor.user) {
        return Err(Refusal::OwnRelease);
    }
    let level = open_level(spec, run).unwrap_or(0);
    let levels = spec.levels();
    let open = levels.get(level);
    let deciders = deciders(spec, level, run.approval.escalated);
    let counted = |user: UserId| run.decisions.iter().any(|d| d.user == user || d.on_behalf_of.as_ref().is_some_and(|(u, _)| *u == user));
    let at_level = open.map(|l| l.name.as_str()).filter(|n| !n.is_empty()).map(|n| format!("at level `{n}`"));
    if counted(actor.user) {
        let (min, level_text) = (open.map_or(1, |l| l.min), at_level.map(|at| format!(" {at}")).unwrap_or_default());
        return Err(Refusal::AlreadyCounted { approvals: approvals_at(run, level), min, level: level_text });
    }
    let matched = |who: &Actor| deciders.iter().filter(|p| p.matches(who)).map(Principal::to_string).collect::<Vec<_>>();
    let mine = if authority.own { matched(actor) } else { vec![] };
    if !mine.is_empty() {
        return Ok(Acting { level, on_behalf_of: None, principals: mine });
    }
    let mut refusal = None;
    for delegation in authority.delegations.iter().filter(|d| d.applies(actor.user, cx.process, cx.now)) {
        let principals = matched(&delegation.from);
        if principals.is_empty() {
            continue;
        }
        let delegator = delegation.from.display_name.clone();
        if own(delegation.from.user) {
            refusal.get_or_insert(Refusal::DelegatorsOwnRelease { delegator });
        } else if counted(delegation.from.user) {
            refusal.get_or_insert(Refusal::DelegatorCounted { delegator });
        } else {
            return Ok(Acting { level, on_behalf_of: Some((delegation.from.user, delegator)), principals });
        }
    }
    Err(refusal
        .unwrap_or_else(|| Refusal::NotAnApprover { level: at_level.unwrap_or_else(|| "here".into()), approvers: deciders.to_vec() }))
}

#[cfg(test)]
mod tests;
