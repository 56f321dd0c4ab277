//! The release state machine. A `Release` is loaded whole, a command is applied to it, and the
//! command returns the `Effect`s to persist with the new state in one transaction: audit entries,
//! channel notices and webhook calls. Nothing here performs I/O.

use super::approval::{self, Refusal};
use super::inputs::Inputs;
use super::principal::{Actor, UserId};
use super::process::{ActivityKind, Completion, HttpMethod, OnFailure, Process, SecretRef};
use super::template;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReleaseId(pub i64);

impl fmt::Display for ReleaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for ReleaseId {
    type Err = String;
    /// Accepts `42` and `#42`, as people copy ids from cards.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .trim_start_matches('#')
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(ReleaseId)
            .ok_or_else(|| format!("`{s}` is not a release id; ids are numbers, like `42`"))
    }
}

macro_rules! status_enum {
    ($name:ident { $($variant:ident),* $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($variant),* }
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $(stringify!($variant) => Some($name::$variant),)* _ => None }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

status_enum!(ReleaseStatus { Draft, NotStarted, Running, OnHold, Success, Failed, PartialSuccess, Aborted });
status_enum!(StepStatus { NotStarted, Waiting, Running, OnHold, Success, Failed, Skipped, Ignored, Aborted });

impl ReleaseStatus {
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Success | Self::Failed | Self::PartialSuccess | Self::Aborted)
    }
}

impl StepStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Success | Self::Failed | Self::Skipped | Self::Ignored | Self::Aborted)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub id: ReleaseId,
    pub guild_id: u64,
    pub name: String,
    pub process: Process,
    pub inputs: Inputs,
    pub status: ReleaseStatus,
    pub created_by: UserId,
    pub started_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    /// Why the release failed, when it did.
    pub reason: Option<String>,
    pub phases: Vec<PhaseRun>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PhaseRun {
    pub id: String,
    pub status: StepStatus,
    pub activities: Vec<ActivityRun>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRun {
    pub id: String,
    pub status: StepStatus,
    /// The current try, from 1; 0 before the first.
    pub attempt: u32,
    pub reason: Option<String>,
    pub decisions: Vec<Decision>,
    /// Values taken from the webhook's response or callback, readable by later templates.
    pub outputs: serde_json::Map<String, serde_json::Value>,
}

/// One person's counted decision on an approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub user: UserId,
    pub name: String,
    pub approve: bool,
}

/// Who did something, for the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuditActor {
    User { id: UserId, name: String },
    System,
}

impl From<&Actor> for AuditActor {
    fn from(a: &Actor) -> Self {
        AuditActor::User { id: a.user, name: a.display_name.clone() }
    }
}

/// What the engine must persist and deliver after a transition.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Audit {
        actor: AuditActor,
        action: &'static str,
        detail: serde_json::Value,
    },
    Notify(Notice),
    CallWebhook(WebhookCall),
    /// A timer: when it fires and try `attempt` of `activity` is still waiting for its callback,
    /// the try fails for want of one.
    CallbackDeadline(CallbackDeadline),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackDeadline {
    pub activity: String,
    pub attempt: u32,
    pub after_secs: u64,
}

/// A message for the process's notices channel, Discord-free; `discord::render` words it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Notice {
    ReleaseStarted {
        by: String,
    },
    PhaseStarted {
        phase: String,
    },
    PhaseFinished {
        phase: String,
        status: StepStatus,
    },
    ApprovalRequested {
        activity: String,
        approvers: Vec<String>,
        min: u32,
    },
    ActivityRetrying {
        activity: String,
        attempt: u32,
        reason: String,
    },
    ReleaseFinished {
        status: ReleaseStatus,
        reason: Option<String>,
    },
    /// The audit chain's head as the release ended, for the audit channel: once posted, a
    /// rewritten database can no longer match what the channel shows.
    AuditHead {
        row: i64,
        hash: String,
    },
}

/// One webhook try, rendered in full when it is decided so a replay sends the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookCall {
    pub activity: String,
    pub attempt: u32,
    pub method: HttpMethod,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub payload: serde_json::Value,
    /// Where the signing secret is; resolved at send time, never stored.
    pub secret: Option<SecretRef>,
    pub outputs: BTreeMap<String, String>,
    pub completion: Completion,
    pub timeout_secs: u64,
    /// How long to wait before this try (0 for a first try).
    pub delay_secs: u64,
}

impl WebhookCall {
    /// Stable across deliveries of one try: `<release>/<activity>/<attempt>`.
    pub fn idempotency_key(release: ReleaseId, activity: &str, attempt: u32) -> String {
        format!("{release}/{activity}/{attempt}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("release {id} is {status}; only a Draft release can be started")]
    NotDraft { id: ReleaseId, status: ReleaseStatus },
    #[error("this result is for try {got} of `{activity}`, which is {status} at try {current}; it was recorded and ignored")]
    Stale { activity: String, got: u32, current: u32, status: StepStatus },
    #[error("release {0} has no activity `{1}`")]
    NoSuchActivity(ReleaseId, String),
    #[error(transparent)]
    Refused(#[from] Refusal),
}

/// How a webhook try ended.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutcome {
    /// Done, with the outputs the process maps from the answer.
    Success { outputs: serde_json::Map<String, serde_json::Value> },
    /// The receiver took the work and will call back (`completion: callback`).
    Accepted,
    /// The try failed; the receiver may have said when to try again.
    Failure { reason: String, retry_after_secs: Option<u64> },
}

impl CallOutcome {
    pub fn failure(reason: impl Into<String>) -> Self {
        CallOutcome::Failure { reason: reason.into(), retry_after_secs: None }
    }

    pub fn success() -> Self {
        CallOutcome::Success { outputs: Default::default() }
    }
}

/// The result of an approval that was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub approvals: u32,
    pub min: u32,
}

impl Release {
    pub fn new_draft(
        id: ReleaseId,
        guild_id: u64,
        name: String,
        process: Process,
        inputs: Inputs,
        created_by: UserId,
        now: DateTime<Utc>,
    ) -> Self {
        let phases = process
            .phases
            .iter()
            .map(|p| PhaseRun {
                id: p.id.clone(),
                status: StepStatus::NotStarted,
                activities: p
                    .activities
                    .iter()
                    .map(|a| ActivityRun {
                        id: a.id.clone(),
                        status: StepStatus::NotStarted,
                        attempt: 0,
                        reason: None,
                        decisions: vec![],
                        outputs: Default::default(),
                    })
                    .collect(),
            })
            .collect();
        Self {
            id,
            guild_id,
            name,
            process,
            inputs,
            status: ReleaseStatus::Draft,
            created_by,
            started_by: None,
            created_at: now,
            reason: None,
            phases,
        }
    }

    pub fn created_effects(&self, actor: &Actor) -> Vec<Effect> {
        vec![Effect::Audit {
            actor: actor.into(),
            action: "release_created",
            detail: json!({"process": self.process.name, "version": self.process.version, "name": self.name, "inputs": self.inputs}),
        }]
    }

    pub fn activity(&self, id: &str) -> Option<&ActivityRun> {
        self.phases.iter().flat_map(|p| p.activities.iter()).find(|a| a.id == id)
    }

    fn activity_mut(&mut self, id: &str) -> Option<&mut ActivityRun> {
        self.phases.iter_mut().flat_map(|p| p.activities.iter_mut()).find(|a| a.id == id)
    }

    /// Draft → Running, and the first activity begins.
    pub fn start(&mut self, actor: &Actor) -> Result<Vec<Effect>, CommandError> {
        if self.status != ReleaseStatus::Draft {
            return Err(CommandError::NotDraft { id: self.id, status: self.status });
        }
        self.status = ReleaseStatus::Running;
        self.started_by = Some(actor.user);
        let mut fx = vec![
            Effect::Audit { actor: actor.into(), action: "release_started", detail: json!({}) },
            Effect::Notify(Notice::ReleaseStarted { by: actor.display_name.clone() }),
        ];
        self.advance(&mut fx);
        Ok(fx)
    }

    /// Applies the result of webhook try `attempt` of `activity`. Results for an older try, or
    /// for an activity that is no longer running, are refused as `Stale` and change nothing.
    pub fn webhook_result(&mut self, activity: &str, attempt: u32, outcome: CallOutcome) -> Result<Vec<Effect>, CommandError> {
        let release = self.id;
        let spec = self.process.activity(activity).cloned().ok_or_else(|| CommandError::NoSuchActivity(release, activity.into()))?;
        let run = self.activity_mut(activity).ok_or_else(|| CommandError::NoSuchActivity(release, activity.into()))?;
        if run.status != StepStatus::Running || run.attempt != attempt {
            return Err(CommandError::Stale { activity: activity.into(), got: attempt, current: run.attempt, status: run.status });
        }
        let mut fx = vec![];
        match outcome {
            CallOutcome::Success { outputs } => {
                run.status = StepStatus::Success;
                run.outputs = outputs;
                fx.push(finished_audit(activity, StepStatus::Success, attempt, None));
            }
            CallOutcome::Accepted => {
                let after_secs = spec.timeout.as_duration().as_secs();
                fx.push(Effect::Audit {
                    actor: AuditActor::System,
                    action: "webhook_accepted",
                    detail: json!({"activity": activity, "attempt": attempt, "callback_within_secs": after_secs}),
                });
                fx.push(Effect::CallbackDeadline(CallbackDeadline { activity: activity.into(), attempt, after_secs }));
                return Ok(fx);
            }
            CallOutcome::Failure { reason, retry_after_secs } if attempt < spec.retry.attempts => {
                // The receiver's Retry-After wins when it asks for a longer wait than the backoff.
                let asked = Duration::from_secs(retry_after_secs.unwrap_or(0)).min(Duration::from_secs(3_600));
                let delay = backoff(spec.retry.backoff.as_duration(), attempt).max(asked);
                fx.push(Effect::Audit {
                    actor: AuditActor::System,
                    action: "activity_retry_scheduled",
                    detail: json!({"activity": activity, "failed_attempt": attempt, "reason": reason, "delay_secs": delay.as_secs()}),
                });
                fx.push(Effect::Notify(Notice::ActivityRetrying { activity: activity.into(), attempt: attempt + 1, reason }));
                self.begin_webhook_try(activity, attempt + 1, delay, &mut fx);
                return Ok(fx);
            }
            CallOutcome::Failure { reason, .. } => {
                let status = match spec.on_failure {
                    OnFailure::Fail => StepStatus::Failed,
                    OnFailure::Ignore => StepStatus::Ignored,
                };
                run.status = status;
                run.reason = Some(reason.clone());
                fx.push(finished_audit(activity, status, attempt, Some(&reason)));
                if status == StepStatus::Failed {
                    let why = format!("activity `{activity}` failed after {attempt} tries: {reason}");
                    self.fail(why, &mut fx);
                    return Ok(fx);
                }
            }
        }
        self.advance(&mut fx);
        Ok(fx)
    }

    /// The callback deadline of a try has passed. If that try is still waiting, it fails (and may
    /// be retried); if it already ended, nothing happens and `None` says so.
    pub fn callback_deadline_passed(&mut self, activity: &str, attempt: u32) -> Option<Vec<Effect>> {
        let waiting = self.activity(activity).is_some_and(|a| a.status == StepStatus::Running && a.attempt == attempt);
        if !waiting || self.status != ReleaseStatus::Running {
            return None;
        }
        let after = self.process.activity(activity).map(|a| a.timeout.to_string()).unwrap_or_default();
        self.webhook_result(activity, attempt, CallOutcome::failure(format!("no callback within {after}"))).ok()
    }

    /// Counts an approval by `actor`; when `min` are in, the release goes on.
    pub fn approve(&mut self, actor: &Actor, activity: &str) -> Result<(Progress, Vec<Effect>), CommandError> {
        let (spec, run) = self.approval_in_progress(activity)?;
        approval::check_may_decide(&spec, run, actor, self.created_by, self.started_by)?;
        let min = spec.min;
        let Some(run) = self.activity_mut(activity) else {
            return Err(CommandError::NoSuchActivity(self.id, activity.into()));
        };
        run.decisions.push(Decision { user: actor.user, name: actor.display_name.clone(), approve: true });
        let approvals = run.decisions.iter().filter(|d| d.approve).count() as u32;
        let mut fx = vec![Effect::Audit {
            actor: actor.into(),
            action: "approval_given",
            detail: json!({"activity": activity, "approvals": approvals, "min": min}),
        }];
        if approvals >= min {
            run.status = StepStatus::Success;
            fx.push(finished_audit(activity, StepStatus::Success, run.attempt, None));
            self.advance(&mut fx);
        }
        Ok((Progress { approvals, min }, fx))
    }

    /// A rejection by an approver fails the activity and the release.
    pub fn reject(&mut self, actor: &Actor, activity: &str) -> Result<Vec<Effect>, CommandError> {
        let (spec, run) = self.approval_in_progress(activity)?;
        approval::check_may_decide(&spec, run, actor, self.created_by, self.started_by)?;
        let reason = format!("rejected by {}", actor.display_name);
        let Some(run) = self.activity_mut(activity) else {
            return Err(CommandError::NoSuchActivity(self.id, activity.into()));
        };
        run.decisions.push(Decision { user: actor.user, name: actor.display_name.clone(), approve: false });
        run.status = StepStatus::Failed;
        run.reason = Some(reason.clone());
        let mut fx = vec![
            Effect::Audit { actor: actor.into(), action: "approval_rejected", detail: json!({"activity": activity}) },
            finished_audit(activity, StepStatus::Failed, run.attempt, Some(&reason)),
        ];
        self.fail(format!("approval `{activity}` {reason}"), &mut fx);
        Ok(fx)
    }

    fn approval_in_progress(&self, activity: &str) -> Result<(super::process::ApprovalSpec, &ActivityRun), CommandError> {
        let missing = || CommandError::NoSuchActivity(self.id, activity.into());
        let spec = match self.process.activity(activity).map(|a| &a.kind) {
            Some(ActivityKind::Approval(spec)) => spec.clone(),
            _ => return Err(missing()),
        };
        let run = self.activity(activity).ok_or_else(missing)?;
        if run.status != StepStatus::OnHold || self.status != ReleaseStatus::Running {
            return Err(Refusal::NotWaiting { status: run.status.to_string() }.into());
        }
        Ok((spec, run))
    }

    /// Fails the current phase and the release with `reason`.
    fn fail(&mut self, reason: String, fx: &mut Vec<Effect>) {
        if let Some(phase) = self.phases.iter_mut().find(|p| p.status == StepStatus::Running) {
            finish_phase(phase, StepStatus::Failed, fx);
        }
        self.finish(ReleaseStatus::Failed, Some(reason), fx);
    }

    fn finish(&mut self, status: ReleaseStatus, reason: Option<String>, fx: &mut Vec<Effect>) {
        self.status = status;
        self.reason = reason.clone();
        fx.push(Effect::Audit {
            actor: AuditActor::System,
            action: "release_finished",
            detail: json!({"status": status, "reason": reason}),
        });
        fx.push(Effect::Notify(Notice::ReleaseFinished { status, reason }));
    }

    /// Moves the release forward as far as it can go without waiting: phases in order,
    /// activities in order within a phase.
    fn advance(&mut self, fx: &mut Vec<Effect>) {
        while self.status == ReleaseStatus::Running {
            let Some(pi) = self.phases.iter().position(|p| !p.status.is_terminal()) else {
                let partial = self
                    .phases
                    .iter()
                    .flat_map(|p| p.activities.iter())
                    .any(|a| matches!(a.status, StepStatus::Ignored | StepStatus::Skipped));
                let status = if partial { ReleaseStatus::PartialSuccess } else { ReleaseStatus::Success };
                self.finish(status, None, fx);
                return;
            };
            let phase = &mut self.phases[pi];
            if phase.status == StepStatus::NotStarted {
                phase.status = StepStatus::Running;
                fx.push(Effect::Audit { actor: AuditActor::System, action: "phase_started", detail: json!({"phase": phase.id}) });
                fx.push(Effect::Notify(Notice::PhaseStarted { phase: phase.id.clone() }));
            }
            match phase.activities.iter().position(|a| !a.status.is_terminal()) {
                None => finish_phase(phase, StepStatus::Success, fx),
                Some(ai) if phase.activities[ai].status == StepStatus::NotStarted => {
                    let id = phase.activities[ai].id.clone();
                    self.begin_activity(&id, fx);
                }
                // Running or waiting for people: nothing more to do until a result comes in.
                Some(_) => return,
            }
        }
    }

    fn begin_activity(&mut self, id: &str, fx: &mut Vec<Effect>) {
        let Some(spec) = self.process.activity(id).cloned() else { return };
        fx.push(Effect::Audit {
            actor: AuditActor::System,
            action: "activity_started",
            detail: json!({"activity": id, "kind": spec.kind.name()}),
        });
        match &spec.kind {
            ActivityKind::Webhook(_) => self.begin_webhook_try(id, 1, Duration::ZERO, fx),
            ActivityKind::Approval(a) => {
                if let Some(run) = self.activity_mut(id) {
                    run.status = StepStatus::OnHold;
                    run.attempt = 1;
                }
                fx.push(Effect::Notify(Notice::ApprovalRequested {
                    activity: id.into(),
                    approvers: a.approvers.iter().map(|p| p.to_string()).collect(),
                    min: a.min,
                }));
            }
        }
    }

    /// Renders try `attempt` of a webhook activity and asks for it to be called after `delay`.
    /// A template that fails to render fails the activity: retrying cannot fix it.
    fn begin_webhook_try(&mut self, id: &str, attempt: u32, delay: Duration, fx: &mut Vec<Effect>) {
        let Some(spec) = self.process.activity(id).cloned() else { return };
        let ActivityKind::Webhook(hook) = &spec.kind else { return };
        let rendered = self.template_context().and_then(|ctx| {
            let url = template::render(&hook.url, &ctx)?;
            let body = template::render_json(&hook.body, &ctx)?;
            let headers = hook
                .headers
                .iter()
                .map(|(k, v)| Ok((k.clone(), template::render(v, &ctx)?)))
                .collect::<Result<BTreeMap<_, _>, template::TemplateError>>()?;
            Ok((url, headers, body))
        });
        let release = self.id;
        let release_name = self.name.clone();
        let Some(run) = self.activity_mut(id) else { return };
        run.attempt = attempt;
        match rendered {
            Ok((url, headers, body)) => {
                run.status = StepStatus::Running;
                let key = WebhookCall::idempotency_key(release, id, attempt);
                fx.push(Effect::CallWebhook(WebhookCall {
                    activity: id.into(),
                    attempt,
                    method: hook.method,
                    url,
                    headers,
                    secret: hook.secret.clone(),
                    outputs: hook.outputs.clone(),
                    completion: hook.completion,
                    payload: json!({
                        "idempotency_key": key,
                        "release_id": release.0,
                        "release_name": release_name,
                        "activity_id": id,
                        "attempt": attempt,
                        "body": body,
                    }),
                    timeout_secs: spec.timeout.as_duration().as_secs(),
                    delay_secs: delay.as_secs(),
                }));
            }
            Err(e) => {
                let reason = format!("cannot render the webhook request: {e}");
                run.status = StepStatus::Failed;
                run.reason = Some(reason.clone());
                fx.push(finished_audit(id, StepStatus::Failed, attempt, Some(&reason)));
                if spec.on_failure == OnFailure::Ignore {
                    if let Some(run) = self.activity_mut(id) {
                        run.status = StepStatus::Ignored;
                    }
                    self.advance(fx);
                } else {
                    self.fail(format!("activity `{id}` failed: {reason}"), fx);
                }
            }
        }
    }

    /// What templates can read: `inputs`, `vars` (rendered from inputs) and `release`.
    pub fn template_context(&self) -> Result<serde_json::Value, template::TemplateError> {
        let activities: serde_json::Map<String, serde_json::Value> = self
            .phases
            .iter()
            .flat_map(|p| p.activities.iter())
            .map(|a| (a.id.clone(), json!({"status": a.status, "outputs": a.outputs})))
            .collect();
        let mut ctx = json!({
            "inputs": self.inputs,
            "release": {"id": self.id.0, "name": self.name, "kind": self.process.kind},
            "activities": activities,
        });
        let mut vars = serde_json::Map::new();
        for (name, source) in &self.process.variables {
            vars.insert(name.clone(), serde_json::Value::String(template::render(source, &ctx)?));
        }
        ctx["vars"] = serde_json::Value::Object(vars);
        Ok(ctx)
    }
}

fn finish_phase(phase: &mut PhaseRun, status: StepStatus, fx: &mut Vec<Effect>) {
    phase.status = status;
    fx.push(Effect::Audit { actor: AuditActor::System, action: "phase_finished", detail: json!({"phase": phase.id, "status": status}) });
    fx.push(Effect::Notify(Notice::PhaseFinished { phase: phase.id.clone(), status }));
}

fn finished_audit(activity: &str, status: StepStatus, attempt: u32, reason: Option<&str>) -> Effect {
    Effect::Audit {
        actor: AuditActor::System,
        action: "activity_finished",
        detail: json!({"activity": activity, "status": status, "attempt": attempt, "reason": reason}),
    }
}

/// `base` doubled for each failed try, capped at one hour.
pub fn backoff(base: Duration, failed_attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(failed_attempt.saturating_sub(1));
    base.saturating_mul(factor).min(Duration::from_secs(3_600))
}

#[cfg(test)]
mod tests;
