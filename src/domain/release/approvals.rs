//! Approvals on a release: requests per level, decisions (as oneself or by delegation),
//! automatic approval, time locks, reminders and expiry. The rules of who counts live in
//! `domain::approval`.

use super::*;
use crate::domain::approval::{self, Acting};
use crate::domain::delegation::Authority;
use crate::domain::process::{Activity, ApprovalLock, ApprovalSpec, OnExpiry};

/// Reminders stop after this many: an approval nobody acts on should expire, not nag forever.
pub const MAX_REMINDERS: u32 = 10;

impl Release {
    /// Opens an approval: approved at once when `auto_approve_if` holds, else its first level
    /// is requested, with its time lock, reminder and expiry timers.
    pub(super) fn begin_approval(&mut self, spec: &Activity, a: &ApprovalSpec, attempt: u32, fx: &mut Vec<Effect>, now: DateTime<Utc>) {
        let id = spec.id.as_str();
        if let Some(run) = self.activity_mut(id) {
            run.attempt = attempt;
        }
        if let Some(condition) = &a.auto_approve_if {
            let holds = self.scope_context(self.process.phase_of(id), Some(spec)).and_then(|ctx| template::evaluate(condition, &ctx));
            match holds {
                Ok(true) => {
                    let risk = self.risk.level;
                    fx.push(Effect::Audit {
                        actor: AuditActor::System,
                        action: "approval_auto",
                        detail: json!({"activity": id, "condition": condition, "risk": risk}),
                    });
                    fx.push(Effect::Notify(Notice::AutoApproved { activity: id.into(), condition: condition.clone(), risk }));
                    self.activity_succeeded(id, attempt, Default::default(), fx);
                    return;
                }
                Ok(false) => {}
                Err(e) => return self.activity_failed(id, attempt, format!("cannot evaluate `auto_approve_if`: {e}"), fx, now),
            }
        }
        let tz = self.process.time_zone.parse::<chrono_tz::Tz>().unwrap_or(chrono_tz::UTC);
        let opens_at = a.not_before.map(|lock| match lock {
            ApprovalLock::After(d) => now + chrono::Duration::from_std(d.as_duration()).unwrap_or(chrono::Duration::MAX),
            ApprovalLock::At(t) => next_weekly(t, tz, now),
        });
        if let Some(run) = self.activity_mut(id) {
            run.status = StepStatus::OnHold;
            run.approval = ApprovalState { opens_at, escalated: false };
        }
        fx.push(Effect::Notify(request(a, id, 0, opens_at)));
        if let Some(every) = a.remind_after {
            fx.push(Effect::Timer(Timer { purpose: TimerPurpose::Remind(1), ..Timer::due(id, attempt, every.as_duration().as_secs()) }));
        }
        if let Some(after) = a.expires_after {
            fx.push(Effect::Timer(Timer { purpose: TimerPurpose::Expire(1), ..Timer::due(id, attempt, after.as_duration().as_secs()) }));
        }
    }

    /// Counts an approval by `actor` (or by whom they act for). A complete level opens the next;
    /// the last one completes the approval and the release goes on.
    pub fn approve(
        &mut self,
        actor: &Actor,
        activity: &str,
        authority: &Authority,
        now: DateTime<Utc>,
    ) -> Result<(Progress, Vec<Effect>), CommandError> {
        let (spec, acting) = self.may_decide(actor, activity, authority, now)?;
        let level = acting.level;
        let levels = spec.levels();
        let (attempt, _) = self.record(actor, activity, &acting, true)?;
        let run = self.activity(activity).ok_or_else(|| CommandError::NoSuchActivity(self.id, activity.into()))?;
        let approvals = approval::approvals_at(run, level);
        let open = approval::open_level(&spec, run);
        let (name, min) = levels.get(level).map(|l| (l.name.clone(), l.min)).unwrap_or_default();
        let mut fx = vec![Effect::Audit {
            actor: actor.into(),
            action: "approval_given",
            detail: json!({"activity": activity, "approvals": approvals, "min": min, "level": name, "as": acting.principals, "on_behalf_of": on_behalf_of(&acting)}),
        }];
        match open {
            None => {
                self.activity_succeeded(activity, attempt, Default::default(), &mut fx);
                self.advance(&mut fx, now);
            }
            Some(next) if next != level => {
                fx.push(Effect::Audit {
                    actor: AuditActor::System,
                    action: "approval_level_complete",
                    detail: json!({"activity": activity, "level": name}),
                });
                let opens_at = run.approval.opens_at;
                fx.push(Effect::Notify(request(&spec, activity, next, opens_at)));
            }
            Some(_) => {}
        }
        Ok((Progress { approvals, min, level: name, complete: open.is_none() }, fx))
    }

    /// Whether `actor` may approve or reject `activity` now; asked before a rejection's reason
    /// is typed.
    pub fn check_decide(&self, actor: &Actor, activity: &str, authority: &Authority, now: DateTime<Utc>) -> Result<(), CommandError> {
        self.may_decide(actor, activity, authority, now).map(|_| ())
    }

    /// A rejection by an approver of the open level, with why, fails the activity and the release.
    pub fn reject(
        &mut self,
        actor: &Actor,
        activity: &str,
        comment: &str,
        authority: &Authority,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>, CommandError> {
        let (spec, acting) = self.may_decide(actor, activity, authority, now)?;
        let comment = comment.trim();
        if comment.is_empty() {
            return Err(CommandError::ReasonRequired);
        }
        let (attempt, decider) = self.record(actor, activity, &acting, false)?;
        let level = spec.levels().get(acting.level).map(|l| l.name.clone()).unwrap_or_default();
        let detail = json!({"activity": activity, "comment": comment, "level": level, "as": acting.principals, "on_behalf_of": on_behalf_of(&acting)});
        let mut fx = vec![Effect::Audit { actor: actor.into(), action: "approval_rejected", detail }];
        self.activity_failed(activity, attempt, format!("rejected by {decider}: {comment}"), &mut fx, now);
        Ok(fx)
    }

    fn may_decide(
        &self,
        actor: &Actor,
        activity: &str,
        authority: &Authority,
        now: DateTime<Utc>,
    ) -> Result<(ApprovalSpec, Acting), CommandError> {
        let (spec, run) = self.approval_in_progress(activity)?;
        let cx = approval::Context { created_by: self.created_by, started_by: self.started_by, process: &self.process.name, now };
        let acting = approval::check_may_decide(&spec, run, actor, authority, &cx)?;
        Ok((spec, acting))
    }

    /// Adds the decision to the run; returns the try it counts for and who decided, as shown.
    fn record(&mut self, actor: &Actor, activity: &str, acting: &Acting, approve: bool) -> Result<(u32, String), CommandError> {
        let id = self.id;
        let run = self.activity_mut(activity).ok_or_else(|| CommandError::NoSuchActivity(id, activity.into()))?;
        let decision = Decision {
            user: actor.user,
            name: actor.display_name.clone(),
            approve,
            level: acting.level as u32,
            on_behalf_of: acting.on_behalf_of.clone(),
            principals: acting.principals.clone(),
        };
        let shown = decision.shown_name();
        run.decisions.push(decision);
        Ok((run.attempt, shown))
    }

    fn approval_in_progress(&self, activity: &str) -> Result<(ApprovalSpec, &ActivityRun), CommandError> {
        let missing = || CommandError::NoSuchActivity(self.id, activity.into());
        let spec = match self.process.activity(activity).map(|a| &a.kind) {
            Some(ActivityKind::Approval(spec)) => spec.clone(),
            _ => return Err(missing()),
        };
        let run = self.activity(activity).ok_or_else(missing)?;
        if self.status == ReleaseStatus::OnHold {
            return Err(Refusal::NotWaiting { status: "on hold with its release; decide once it is resumed".into() }.into());
        }
        if matches!(run.status, StepStatus::Success | StepStatus::Failed) {
            let outcome = approval::outcome(run).or_else(|| run.reason.clone()).unwrap_or_else(|| run.status.to_string());
            return Err(Refusal::AlreadyDecided { outcome }.into());
        }
        if run.status != StepStatus::OnHold || self.status != ReleaseStatus::Running {
            return Err(Refusal::NotWaiting { status: run.status.in_words().to_string() }.into());
        }
        Ok((spec, run))
    }

    fn open_approval(&self, activity: &str, attempt: u32) -> Option<(ApprovalSpec, &ActivityRun)> {
        let run = self.activity(activity).filter(|r| r.attempt == attempt && r.status == StepStatus::OnHold)?;
        match &self.process.activity(activity)?.kind {
            ActivityKind::Approval(spec) => Some((spec.clone(), run)),
            _ => None,
        }
    }

    /// Reminder `n` of an open approval: pings the open level's deciders and arms the next one.
    /// While the release is on hold nobody is pinged, but the reminders go on.
    pub(super) fn remind(&mut self, activity: &str, attempt: u32, n: u32) -> Option<Vec<Effect>> {
        let (spec, run) = self.open_approval(activity, attempt)?;
        let every = spec.remind_after?;
        let mut fx = vec![];
        if self.status == ReleaseStatus::Running {
            let level = approval::open_level(&spec, run).unwrap_or(0);
            let levels = spec.levels();
            let (name, min) = levels.get(level).map(|l| (l.name.clone(), l.min)).unwrap_or_default();
            let approvers = approval::deciders(&spec, level, run.approval.escalated).iter().map(ToString::to_string).collect();
            let approvals = approval::approvals_at(run, level);
            fx.push(Effect::Audit {
                actor: AuditActor::System,
                action: "approval_reminded",
                detail: json!({"activity": activity, "reminder": n}),
            });
            fx.push(Effect::Notify(Notice::ApprovalReminder { activity: activity.into(), approvers, level: name, approvals, min }));
        }
        if n < MAX_REMINDERS {
            fx.push(Effect::Timer(Timer {
                purpose: TimerPurpose::Remind(n + 1),
                ..Timer::due(activity, attempt, every.as_duration().as_secs())
            }));
        }
        Some(fx)
    }

    /// Expiry check `n`: on hold, the clock starts again; the first expiry of an escalating
    /// approval brings in `escalate_to`; otherwise the approval fails.
    pub(super) fn expire(&mut self, activity: &str, attempt: u32, n: u32, now: DateTime<Utc>) -> Option<Vec<Effect>> {
        let (spec, run) = self.open_approval(activity, attempt)?;
        let after = spec.expires_after?;
        let again =
            Effect::Timer(Timer { purpose: TimerPurpose::Expire(n + 1), ..Timer::due(activity, attempt, after.as_duration().as_secs()) });
        if self.status == ReleaseStatus::OnHold {
            return Some(vec![again]);
        }
        let mut fx = vec![];
        match (&spec.on_expiry, run.approval.escalated) {
            (OnExpiry::Escalate(to), false) => {
                let to: Vec<String> = to.iter().map(ToString::to_string).collect();
                if let Some(run) = self.activity_mut(activity) {
                    run.approval.escalated = true;
                }
                fx.push(Effect::Audit {
                    actor: AuditActor::System,
                    action: "approval_escalated",
                    detail: json!({"activity": activity, "after": after.to_string(), "to": to}),
                });
                fx.push(Effect::Notify(Notice::ApprovalEscalated { activity: activity.into(), to, after: after.to_string() }));
                fx.push(again);
            }
            _ => {
                let even = if run.approval.escalated { ", even after escalating" } else { "" };
                fx.push(Effect::Audit {
                    actor: AuditActor::System,
                    action: "approval_expired",
                    detail: json!({"activity": activity, "after": after.to_string()}),
                });
                fx.push(Effect::Notify(Notice::RequestsClosed { activity: Some(activity.into()), why: "Expired".into() }));
                self.activity_failed(activity, attempt, format!("expired: no decision within {after}{even}"), &mut fx, now);
            }
        }
        Some(fx)
    }
}

/// The request for level `index` of an approval.
fn request(spec: &ApprovalSpec, activity: &str, index: usize, opens_at: Option<DateTime<Utc>>) -> Notice {
    let levels = spec.levels();
    let level = levels.get(index);
    Notice::ApprovalRequested {
        activity: activity.into(),
        approvers: approval::deciders(spec, index, false).iter().map(ToString::to_string).collect(),
        min: level.map_or(1, |l| l.min),
        level: level.map(|l| l.name.clone()).unwrap_or_default(),
        level_index: index as u32,
        needs: String::new(),
        require: level.map(|l| l.require.clone()).unwrap_or_default(),
        opens_at,
    }
}

fn on_behalf_of(acting: &Acting) -> serde_json::Value {
    match &acting.on_behalf_of {
        Some((user, name)) => json!({"id": user, "name": name}),
        None => serde_json::Value::Null,
    }
}
