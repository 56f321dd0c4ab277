//! `subprocess` activities: another process runs as a child release; its end is this
//! activity's result. Parent and child are linked both ways: the child row names its parent's
//! activity and try, and the parent's trail and outputs name the child.

use super::*;
use crate::domain::process::{Activity, SubprocessSpec};

/// A child release to create and start, in the transaction that started the activity.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildRelease {
    pub name: String,
    pub process: Box<Process>,
    pub inputs: Inputs,
    pub parent: ParentLink,
}

impl Release {
    pub(super) fn begin_subprocess(
        &mut self,
        spec: &Activity,
        sub: &SubprocessSpec,
        attempt: u32,
        fx: &mut Vec<Effect>,
        now: DateTime<Utc>,
    ) {
        let id = spec.id.as_str();
        if let Some(run) = self.activity_mut(id) {
            run.attempt = attempt;
        }
        let child = self.child_of(spec, sub);
        match child {
            Ok((process, inputs)) => {
                if let Some(run) = self.activity_mut(id) {
                    run.status = StepStatus::Running;
                }
                fx.push(Effect::StartChild(ChildRelease {
                    name: format!("{} › {id}", self.name).chars().take(100).collect(),
                    process: Box::new(process),
                    inputs,
                    parent: ParentLink { release: self.id, activity: id.into(), attempt },
                }));
            }
            Err(reason) => self.activity_failed(id, attempt, reason, fx, now),
        }
    }

    /// The child's pinned process (with every process it reaches in turn) and its checked inputs.
    fn child_of(&self, spec: &Activity, sub: &SubprocessSpec) -> Result<(Process, Inputs), String> {
        let mut process = self
            .process
            .children
            .get(&sub.process)
            .cloned()
            .ok_or_else(|| format!("process `{}` was not pinned with this release", sub.process))?;
        process.children = self.process.children.clone();
        let ctx = self.scope_context(self.process.phase_of(&spec.id), Some(spec)).map_err(|e| e.to_string())?;
        let pairs = sub
            .inputs
            .iter()
            .map(|(k, v)| Ok((k.clone(), template::render(v, &ctx)?)))
            .collect::<Result<Vec<_>, template::TemplateError>>()
            .map_err(|e| format!("cannot render the child's inputs: {e}"))?;
        let inputs = crate::domain::inputs::validate(&process, pairs).map_err(|e| format!("the child's inputs are refused: {e}"))?;
        Ok((process, inputs))
    }

    /// The child release `child` of try `attempt` of `activity` ended with `status`.
    pub fn child_finished(
        &mut self,
        link: &ParentLink,
        child: ReleaseId,
        status: ReleaseStatus,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>, CommandError> {
        let activity = link.activity.as_str();
        self.check_running_try(activity, link.attempt)?;
        let mut fx = vec![];
        match status {
            ReleaseStatus::Success | ReleaseStatus::PartialSuccess => {
                let outputs = json!({"release_id": child.0, "status": status}).as_object().cloned().unwrap_or_default();
                self.activity_succeeded(activity, link.attempt, outputs, &mut fx);
                self.advance(&mut fx, now);
            }
            _ => {
                let why = format!("child release {child} ended {status}{}", reason.map(|r| format!(": {r}")).unwrap_or_default());
                self.activity_failed(activity, link.attempt, why, &mut fx, now);
            }
        }
        Ok(fx)
    }
}
