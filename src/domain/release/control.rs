//! Operators' commands on a release: hold, resume, abort, and fix-and-continue on a failed
//! activity (retry it, or skip it). Each is audited with who and why.

use super::*;

fn reason_given(reason: &str) -> Result<String, CommandError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(CommandError::ReasonRequired);
    }
    Ok(reason.chars().take(500).collect())
}

impl Release {
    /// Changes a Draft's name and inputs. Given inputs override the current ones; the whole set
    /// is checked again, so a Draft never holds inputs its process would refuse.
    pub fn edit(&mut self, actor: &Actor, name: Option<&str>, pairs: Option<Vec<(String, String)>>) -> Result<Vec<Effect>, CommandError> {
        self.expect_status(&[ReleaseStatus::Draft], "edited")?;
        let before = json!({"name": self.name, "inputs": self.inputs});
        if let Some(name) = name {
            let name = name.trim();
            if name.is_empty() {
                return Err(CommandError::EmptyName);
            }
            self.name = name.to_string();
        }
        if let Some(pairs) = pairs {
            let given: Vec<String> = pairs.iter().map(|(k, _)| k.clone()).collect();
            let as_typed = |v: &crate::domain::inputs::InputValue| match v {
                crate::domain::inputs::InputValue::Text(t) => t.clone(),
                crate::domain::inputs::InputValue::List(items) => items.join(","),
            };
            let kept = self.inputs.0.iter().filter(|(k, _)| !given.contains(k)).map(|(k, v)| (k.clone(), as_typed(v)));
            let all: Vec<(String, String)> = kept.chain(pairs).collect();
            self.inputs = crate::domain::inputs::validate(&self.process, all)?;
        }
        let after = json!({"name": self.name, "inputs": self.inputs});
        Ok(vec![Effect::Audit { actor: actor.into(), action: "release_edited", detail: json!({"before": before, "after": after}) }])
    }

    /// Checks that `actor` may delete this release (a Draft only) and says what to audit.
    pub fn delete(&self, actor: &Actor) -> Result<Vec<Effect>, CommandError> {
        self.expect_status(&[ReleaseStatus::Draft], "deleted")?;
        Ok(vec![Effect::Audit {
            actor: actor.into(),
            action: "release_deleted",
            detail: json!({"name": self.name, "inputs": self.inputs}),
        }])
    }

    pub(super) fn expect_status(&self, allowed: &[ReleaseStatus], action: &'static str) -> Result<(), CommandError> {
        if allowed.contains(&self.status) {
            return Ok(());
        }
        let allowed = allowed.iter().map(|s| s.in_words().to_lowercase()).collect::<Vec<_>>().join(" or ");
        Err(CommandError::WrongStatus { id: self.id, status: self.status, action, allowed })
    }

    /// Running → OnHold: nothing new starts; tries already out finish and are recorded.
    pub fn hold(&mut self, actor: &Actor, reason: &str) -> Result<Vec<Effect>, CommandError> {
        self.expect_status(&[ReleaseStatus::Running], "held")?;
        let reason = reason_given(reason)?;
        self.status = ReleaseStatus::OnHold;
        Ok(vec![
            Effect::Audit { actor: actor.into(), action: "release_held", detail: json!({"reason": reason}) },
            Effect::Notify(Notice::ReleaseHeld { by: actor.display_name.clone(), reason }),
        ])
    }

    /// OnHold → Running, and whatever became ready while held starts.
    pub fn resume(&mut self, actor: &Actor, now: DateTime<Utc>) -> Result<Vec<Effect>, CommandError> {
        self.expect_status(&[ReleaseStatus::OnHold], "resumed")?;
        self.status = ReleaseStatus::Running;
        let mut fx = vec![
            Effect::Audit { actor: actor.into(), action: "release_resumed", detail: json!({}) },
            Effect::Notify(Notice::ReleaseResumed { by: actor.display_name.clone() }),
        ];
        self.advance(&mut fx, now);
        Ok(fx)
    }

    /// Ends the release as Aborted; what was running is aborted and late results are refused.
    pub fn abort(&mut self, actor: &Actor, reason: &str) -> Result<Vec<Effect>, CommandError> {
        self.expect_status(&[ReleaseStatus::NotStarted, ReleaseStatus::Running, ReleaseStatus::OnHold], "aborted")?;
        let reason = reason_given(reason)?;
        let mut fx = vec![Effect::Audit { actor: actor.into(), action: "release_aborted", detail: json!({"reason": reason}) }];
        let was_planned = self.status == ReleaseStatus::NotStarted;
        self.stop_all(&mut fx);
        let why = format!("Release aborted by {}", actor.display_name);
        self.finish_closing(ReleaseStatus::Aborted, Some(format!("aborted by {}: {reason}", actor.display_name)), why, &mut fx);
        if was_planned {
            // Its advance shipping notice now says it is cancelled.
            self.advance_notice(&mut fx);
        }
        Ok(fx)
    }

    /// Ends a child release because its parent stopped waiting for it (the parent was aborted
    /// or failed elsewhere). No permission check: the parent's operator already decided.
    pub fn abort_for_parent(&mut self, reason: &str) -> Vec<Effect> {
        if self.status.is_finished() || self.status == ReleaseStatus::Draft {
            return vec![];
        }
        let mut fx = vec![Effect::Audit { actor: AuditActor::System, action: "release_aborted", detail: json!({"reason": reason}) }];
        self.stop_all(&mut fx);
        self.finish(ReleaseStatus::Aborted, Some(reason.to_string()), &mut fx);
        fx
    }

    /// Fix-and-continue: a failed activity runs again (a new try, so a new idempotency key),
    /// and what the failure aborted beside it starts again when ready.
    pub fn retry(&mut self, actor: &Actor, activity: &str, now: DateTime<Utc>) -> Result<Vec<Effect>, CommandError> {
        self.continue_after(actor, activity, None, now)
    }

    /// Fix-and-continue: a failed activity is marked Skipped and the release goes on; it can
    /// then end PartialSuccess at best.
    pub fn skip(&mut self, actor: &Actor, activity: &str, reason: &str, now: DateTime<Utc>) -> Result<Vec<Effect>, CommandError> {
        let reason = reason_given(reason)?;
        self.continue_after(actor, activity, Some(reason), now)
    }

    fn continue_after(
        &mut self,
        actor: &Actor,
        activity: &str,
        skip: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>, CommandError> {
        let action = if skip.is_some() { "skipped" } else { "retried" };
        self.expect_status(&[ReleaseStatus::Running, ReleaseStatus::OnHold, ReleaseStatus::Failed], action)?;
        if self.phases.iter().any(|p| p.id == ROLLBACK && p.status != StepStatus::NotStarted) {
            return Err(CommandError::RolledBack(self.id));
        }
        let run = self.activity(activity).ok_or_else(|| CommandError::NoSuchActivity(self.id, activity.into()))?;
        if !matches!(run.status, StepStatus::Failed | StepStatus::Ignored) {
            return Err(CommandError::NotFailed { activity: activity.into(), status: run.status, action });
        }
        let mut fx = vec![];
        match &skip {
            Some(reason) => {
                if let Some(run) = self.activity_mut(activity) {
                    run.status = StepStatus::Skipped;
                    run.reason = Some(format!("skipped by {}: {reason}", actor.display_name));
                }
                fx.push(Effect::Audit {
                    actor: actor.into(),
                    action: "activity_skipped",
                    detail: json!({"activity": activity, "reason": reason}),
                });
            }
            None => {
                if let Some(run) = self.activity_mut(activity) {
                    run.status = StepStatus::NotStarted;
                    run.reason = None;
                    run.decisions.clear();
                }
                fx.push(Effect::Audit { actor: actor.into(), action: "activity_retried", detail: json!({"activity": activity}) });
            }
        }
        // What the failure stopped becomes ready again.
        let main = self.process.phases.len();
        for phase in &mut self.phases[..main] {
            for a in &mut phase.activities {
                if a.status == StepStatus::Aborted {
                    a.status = StepStatus::NotStarted;
                    a.reason = None;
                }
            }
            if matches!(phase.status, StepStatus::Failed | StepStatus::Aborted) {
                let started = phase.activities.iter().any(|a| a.status != StepStatus::NotStarted);
                phase.status = if started { StepStatus::Running } else { StepStatus::NotStarted };
            }
        }
        // Said as what it is: a person skipped or retried an activity (not a resume of a hold).
        fx.push(Effect::Notify(Notice::ActivityContinued {
            by: actor.display_name.clone(),
            activity: activity.into(),
            skipped: skip.clone(),
        }));
        if self.status == ReleaseStatus::Failed {
            self.status = ReleaseStatus::Running;
            self.reason = None;
        }
        self.advance(&mut fx, now);
        Ok(fx)
    }

    /// Aborts every running activity and phase, the rollback's included.
    fn stop_all(&mut self, fx: &mut Vec<Effect>) {
        for phase in &mut self.phases {
            for a in &mut phase.activities {
                if matches!(a.status, StepStatus::Running | StepStatus::OnHold | StepStatus::Waiting) {
                    a.status = StepStatus::Aborted;
                    fx.push(finished_audit(&a.id, StepStatus::Aborted, a.attempt, Some("the release was aborted")));
                }
            }
            if phase.status == StepStatus::Running {
                phase.status = StepStatus::Aborted;
                fx.push(Effect::Audit {
                    actor: AuditActor::System,
                    action: "phase_finished",
                    detail: json!({"phase": phase.id, "status": StepStatus::Aborted}),
                });
            }
        }
    }
}
