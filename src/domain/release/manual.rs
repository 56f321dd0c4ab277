//! `manual` activities: a task a person does outside Trainmaster and marks done in chat.

use super::*;
use crate::domain::process::{Activity, ManualSpec};

impl Release {
    pub(super) fn begin_manual(&mut self, spec: &Activity, manual: &ManualSpec, attempt: u32, fx: &mut Vec<Effect>, now: DateTime<Utc>) {
        let id = spec.id.as_str();
        let checklist = self.scope_context(self.process.phase_of(id), Some(spec)).and_then(|ctx| template::render(&manual.checklist, &ctx));
        if let Some(run) = self.activity_mut(id) {
            run.attempt = attempt;
        }
        match checklist {
            Ok(checklist) => {
                if let Some(run) = self.activity_mut(id) {
                    run.status = StepStatus::OnHold;
                }
                let owner = self.task_owner(spec).map(|p| p.to_string());
                fx.push(Effect::Notify(Notice::ManualTask { activity: id.into(), checklist, owner }));
            }
            Err(e) => self.activity_failed(id, attempt, format!("cannot render the checklist: {e}"), fx, now),
        }
    }

    /// Who a task is for: the activity's owner, else its phase's.
    fn task_owner(&self, spec: &Activity) -> Option<Principal> {
        spec.owner.clone().or_else(|| self.process.phase_of(&spec.id).and_then(|p| p.owner.clone()))
    }

    /// The task's owner (or, with no owner, anyone), the release manager or the release's
    /// creator marks a manual task done; the release goes on.
    pub fn mark_done(&mut self, actor: &Actor, activity: &str, now: DateTime<Utc>) -> Result<Vec<Effect>, CommandError> {
        let missing = || CommandError::NoSuchActivity(self.id, activity.into());
        let spec = self.process.activity(activity).cloned().ok_or_else(missing)?;
        if !matches!(spec.kind, ActivityKind::Manual(_)) {
            return Err(missing());
        }
        let run = self.activity(activity).ok_or_else(missing)?;
        if self.status != ReleaseStatus::Running || run.status != StepStatus::OnHold {
            let status = if self.status == ReleaseStatus::OnHold {
                "on hold with its release".to_string()
            } else {
                run.status.in_words().to_string()
            };
            return Err(Refusal::NotWaiting { status }.into());
        }
        let owner = self.task_owner(&spec);
        let manager = self.process.release_manager.as_ref();
        let allowed =
            owner.as_ref().is_none_or(|o| o.matches(actor)) || actor.is(self.created_by) || manager.is_some_and(|m| m.matches(actor));
        if !allowed {
            let owner = owner.map(|o| o.shown()).unwrap_or_default();
            return Err(CommandError::NotAllowed(format!("the task's owner ({owner}), the release manager or the release's creator")));
        }
        let attempt = run.attempt;
        let mut fx = vec![Effect::Audit { actor: actor.into(), action: "manual_task_done", detail: json!({"activity": activity}) }];
        self.activity_succeeded(activity, attempt, Default::default(), &mut fx);
        self.advance(&mut fx, now);
        Ok(fx)
    }
}
