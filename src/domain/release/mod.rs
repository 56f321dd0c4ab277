//! The release state machine. A `Release` is loaded whole, a command is applied to it, and the
//! command returns the `Effect`s to persist with the new state in one transaction: audit entries,
//! channel notices and webhook calls. Nothing here performs I/O.

use super::approval::Refusal;
use super::ids::{ChannelId, GuildId};
use super::inputs::Inputs;
use super::principal::{Actor, Initiator, Principal, UserId};
use super::process::{ActivityKind, Auth, Completion, HttpMethod, OnFailure, Process, SecretRef};
use super::template;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

mod approvals;
mod changes;
pub use approvals::MAX_REMINDERS;
pub use changes::Change;
mod check;
mod control;
mod effects;
pub use effects::*;
mod flow;
mod follow;
mod manual;
mod schedule;
mod spanning;
pub use schedule::{Schedule, StartTimer};
pub use spanning::Spanning;
mod subprocess;
pub use super::risk::{Risk, RiskLevel};
pub use check::{Look, Poll};
pub use flow::{next_weekly, ROLLBACK};
pub use subprocess::ChildRelease;

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

impl ReleaseStatus {
    /// The state as people read it (never the variant's name): the one mapping every message uses.
    pub fn in_words(self) -> &'static str {
        match self {
            Self::Draft => "Draft",
            Self::NotStarted => "Not started",
            Self::Running => "Running",
            Self::OnHold => "On hold",
            Self::Success => "Shipped",
            Self::PartialSuccess => "Partly shipped",
            Self::Failed => "Failed",
            Self::Aborted => "Aborted",
        }
    }
}

impl StepStatus {
    /// A phase's or activity's state as people read it. An activity waiting for people (an
    /// approval, a manual task) is *waiting*: "on hold" belongs to a held release.
    pub fn in_words(self) -> &'static str {
        match self {
            Self::NotStarted => "not started",
            Self::Waiting | Self::OnHold => "waiting",
            Self::Running => "running",
            Self::Success => "done",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Ignored => "failed (not critical)",
            Self::Aborted => "stopped",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Success | Self::Failed | Self::Skipped | Self::Ignored | Self::Aborted)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub id: ReleaseId,
    pub guild_id: GuildId,
    pub name: String,
    pub process: Process,
    pub inputs: Inputs,
    pub status: ReleaseStatus,
    pub created_by: Initiator,
    pub started_by: Option<Initiator>,
    pub created_at: DateTime<Utc>,
    /// Why the release failed, when it did.
    pub reason: Option<String>,
    pub phases: Vec<PhaseRun>,
    /// Set on a release started by another release's `subprocess` activity.
    pub parent: Option<ParentLink>,
    /// Assessed from the process's risk rules when the release starts.
    pub risk: Risk,
    /// The id of the database the release lives in (empty until stored): it begins every
    /// idempotency key, so two installations never send the same key for different work.
    pub installation: String,
    /// Its planned start, once scheduled (kept after it starts: the calendar shows plan and run).
    pub schedule: Option<Schedule>,
}

/// The activity (and its try) of another release that this release runs for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentLink {
    pub release: ReleaseId,
    pub activity: String,
    pub attempt: u32,
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
    /// The first try of the current run: automatic retries keep it, a person's retry starts a
    /// new run. The receiver's idempotency key is per run.
    pub run_attempt: u32,
    pub reason: Option<String>,
    pub decisions: Vec<Decision>,
    /// Values taken from the webhook's response or callback, readable by later templates.
    pub outputs: serde_json::Map<String, serde_json::Value>,
    /// An approval's time lock and escalation; default for every other kind.
    pub approval: ApprovalState,
}

impl ActivityRun {
    fn new(id: &str) -> Self {
        Self {
            id: id.into(),
            status: StepStatus::NotStarted,
            attempt: 0,
            run_attempt: 0,
            reason: None,
            decisions: vec![],
            outputs: Default::default(),
            approval: ApprovalState::default(),
        }
    }
}

/// The state of an approval round beside its decisions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalState {
    /// Decisions before this are refused (the time lock).
    #[serde(default)]
    pub opens_at: Option<DateTime<Utc>>,
    /// The approval expired once and went to `escalate_to`.
    #[serde(default)]
    pub escalated: bool,
}

/// One person's counted decision on an approval: who, for whom (delegation), at which level and
/// as which of the level's principals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub user: UserId,
    pub name: String,
    pub approve: bool,
    /// The level (0 for the first) the decision counts for.
    #[serde(default)]
    pub level: u32,
    /// The delegator, when the person decided by delegation.
    #[serde(default)]
    pub on_behalf_of: Option<(UserId, String)>,
    /// The level's principals the decider matched (`role:QA`), as written in the process.
    #[serde(default)]
    pub principals: Vec<String>,
}

impl Decision {
    /// "bob", or "bob for alice" when bob acted by alice's delegation.
    pub fn shown_name(&self) -> String {
        match &self.on_behalf_of {
            Some((_, delegator)) => format!("{} for {delegator}", self.name),
            None => self.name.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("release {id} is {}; only a Draft or a scheduled release can be started", status.in_words().to_lowercase())]
    NotDraft { id: ReleaseId, status: ReleaseStatus },
    #[error("this result is for try {got} of `{activity}`, which is {} at try {current}; it was recorded and ignored", status.in_words())]
    Stale { activity: String, got: u32, current: u32, status: StepStatus },
    #[error("release {0} has no activity `{1}`")]
    NoSuchActivity(ReleaseId, String),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("only {0} can do that")]
    NotAllowed(String),
    #[error(transparent)]
    Denied(#[from] super::access::Denied),
    #[error("say why: a reason is required, and it goes into the audit trail")]
    ReasonRequired,
    #[error("release {id} is {}; only a {allowed} release can be {action}", status.in_words().to_lowercase())]
    WrongStatus { id: ReleaseId, status: ReleaseStatus, action: &'static str, allowed: String },
    #[error("`{activity}` is {}; only a failed activity can be {action}", status.in_words())]
    NotFailed { activity: String, status: StepStatus, action: &'static str },
    #[error("release {0} was rolled back; create a new release instead of continuing this one")]
    RolledBack(ReleaseId),
    #[error("a release needs a name")]
    EmptyName,
    #[error(transparent)]
    Inputs(#[from] super::inputs::InputError),
}

/// The result of an approval that was counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Approvals counted at the level the decision went to, and how many it needs.
    pub approvals: u32,
    pub min: u32,
    /// The level's name; empty for a single-level approval.
    pub level: String,
    /// Every level is complete: the approval is given.
    pub complete: bool,
}

/// A release about to be stored: everything but what the database gives it, its id and the
/// installation it lives in. `Store::insert_release` makes it a `Release`.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub guild_id: GuildId,
    pub name: String,
    pub process: Process,
    pub inputs: Inputs,
    pub created_by: Initiator,
    pub created_at: DateTime<Utc>,
    pub parent: Option<ParentLink>,
}

impl Draft {
    /// The release this draft became once stored as `id` in `installation`.
    pub fn stored(self, id: ReleaseId, installation: String) -> Release {
        let mut release = Release::new_draft(id, self.guild_id, self.name, self.process, self.inputs, self.created_by, self.created_at);
        release.parent = self.parent;
        release.installation = installation;
        release
    }
}

impl Release {
    pub fn new_draft(
        id: ReleaseId,
        guild_id: GuildId,
        name: String,
        process: Process,
        inputs: Inputs,
        created_by: impl Into<Initiator>,
        now: DateTime<Utc>,
    ) -> Self {
        let phases = process
            .phases
            .iter()
            .map(|p| PhaseRun {
                id: p.id.clone(),
                status: StepStatus::NotStarted,
                activities: p.activities.iter().map(|a| ActivityRun::new(&a.id)).collect(),
            })
            .collect();
        let mut phases: Vec<PhaseRun> = phases;
        if !process.rollback.is_empty() {
            phases.push(PhaseRun {
                id: ROLLBACK.into(),
                status: StepStatus::NotStarted,
                activities: process.rollback.iter().map(|a| ActivityRun::new(&a.id)).collect(),
            });
        }
        Self {
            id,
            guild_id,
            name,
            process,
            inputs,
            status: ReleaseStatus::Draft,
            created_by: created_by.into(),
            started_by: None,
            created_at: now,
            reason: None,
            phases,
            parent: None,
            risk: Risk::default(),
            installation: String::new(),
            schedule: None,
        }
    }

    pub fn created_effects(&self, actor: AuditActor) -> Vec<Effect> {
        vec![Effect::Audit {
            actor,
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

    /// Draft → Running, and the first activity begins: started by a person in chat.
    pub fn start(&mut self, actor: &Actor, now: DateTime<Utc>) -> Result<Vec<Effect>, CommandError> {
        self.start_as(Initiator::Person(actor.user), actor.into(), actor.display_name.clone(), now)
    }

    /// Draft → Running, started by CI through the signed trigger request `webhook_id`.
    pub fn start_from_ci(&mut self, webhook_id: &str, now: DateTime<Utc>) -> Result<Vec<Effect>, CommandError> {
        self.start_as(Initiator::Ci, AuditActor::Ci { webhook_id: webhook_id.to_string() }, format!("CI ({webhook_id})"), now)
    }

    /// Draft → Running, started by `initiator`, audited as `audit`, announced as `shown_as`:
    /// how CI triggers and parent releases start one.
    pub fn start_as(
        &mut self,
        initiator: Initiator,
        audit: AuditActor,
        shown_as: String,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>, CommandError> {
        if !matches!(self.status, ReleaseStatus::Draft | ReleaseStatus::NotStarted) {
            return Err(CommandError::NotDraft { id: self.id, status: self.status });
        }
        let planned = self.schedule.as_ref().filter(|_| self.status == ReleaseStatus::NotStarted).map(|s| s.at);
        self.status = ReleaseStatus::Running;
        self.started_by = Some(initiator);
        self.risk = self.assess_risk(now);
        let mut detail = json!({"risk": self.risk.level, "risk_reasons": self.risk.reasons});
        let mut early_by = None;
        if let Some(at) = planned.filter(|at| now < *at) {
            // Started by hand before its planned time: the trail says so, and by how much.
            detail["scheduled_for"] = json!(at.to_rfc3339());
            detail["early_by_secs"] = json!((at - now).num_seconds());
            early_by = Some(at - now);
        }
        let mut fx = vec![
            Effect::Audit { actor: audit, action: "release_started", detail },
            Effect::Notify(Notice::ReleaseStarted { by: shown_as }),
        ];
        if let Some(early) = early_by {
            fx.push(Effect::Notify(Notice::StartedEarly { by_secs: early.num_seconds().max(0) as u64 }));
        }
        if planned.is_some() {
            self.advance_notice(&mut fx);
        }
        self.advance(&mut fx, now);
        Ok(fx)
    }

    /// Applies the result of webhook try `attempt` of `activity`. Results for an older try, or
    /// for an activity that is no longer running, are refused as `Stale` and change nothing.
    pub fn webhook_result(
        &mut self,
        activity: &str,
        attempt: u32,
        outcome: CallOutcome,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>, CommandError> {
        let spec = self.process.activity(activity).cloned().ok_or_else(|| CommandError::NoSuchActivity(self.id, activity.into()))?;
        self.check_running_try(activity, attempt)?;
        let follows = matches!(&spec.kind, ActivityKind::Webhook(hook) if !hook.then.is_empty());
        let mut fx = vec![];
        match outcome {
            CallOutcome::Success { outputs, answer } if follows => {
                if let Some(run) = self.activity_mut(activity) {
                    run.outputs = outputs;
                }
                self.begin_follow(activity, attempt, 0, answer.unwrap_or_else(|| json!({})), &mut fx, now);
            }
            CallOutcome::Success { outputs, .. } => {
                self.activity_succeeded(activity, attempt, outputs, &mut fx);
                self.advance(&mut fx, now);
            }
            CallOutcome::Accepted => {
                let after_secs = spec.timeout.as_duration().as_secs();
                fx.push(Effect::Audit {
                    actor: AuditActor::System,
                    action: "webhook_accepted",
                    detail: json!({"activity": activity, "attempt": attempt, "callback_within_secs": after_secs}),
                });
                fx.push(Effect::Timer(Timer::due(activity, attempt, after_secs)));
            }
            CallOutcome::Failure { reason, retry_after_secs } => {
                self.webhook_try_failed(activity, attempt, reason, retry_after_secs, &mut fx, now)
            }
        }
        Ok(fx)
    }

    /// The idempotency key of `activity`'s current run (`attempt` when it has not started).
    pub(super) fn run_key(&self, activity: &str, attempt: u32) -> String {
        let first = self.activity(activity).map_or(attempt, |r| r.run_attempt);
        WebhookCall::run_key(&self.installation, self.id, activity, first)
    }

    /// Refuses a result for try `attempt` of `activity` unless that try is the one running: an
    /// older try's, or one for an activity that ended, is `Stale` and changes nothing.
    pub(super) fn check_running_try(&self, activity: &str, attempt: u32) -> Result<(), CommandError> {
        let run = self.activity(activity).ok_or_else(|| CommandError::NoSuchActivity(self.id, activity.into()))?;
        if run.status != StepStatus::Running || run.attempt != attempt {
            return Err(CommandError::Stale { activity: activity.into(), got: attempt, current: run.attempt, status: run.status });
        }
        Ok(())
    }

    /// Try `attempt` of a webhook failed (its request, or the work its polls followed): another
    /// try after the backoff while tries remain, else the activity fails.
    pub(super) fn webhook_try_failed(
        &mut self,
        activity: &str,
        attempt: u32,
        reason: String,
        retry_after_secs: Option<u64>,
        fx: &mut Vec<Effect>,
        now: DateTime<Utc>,
    ) {
        let retry = self.process.activity(activity).map(|a| a.retry).unwrap_or_default();
        if attempt >= retry.attempts {
            self.activity_failed(activity, attempt, reason, fx, now);
            return;
        }
        // The receiver's Retry-After wins when it asks for a longer wait than the backoff.
        let asked = Duration::from_secs(retry_after_secs.unwrap_or(0)).min(Duration::from_secs(3_600));
        let key = WebhookCall::idempotency_key(self.id, activity, attempt);
        let delay = backoff(&retry, attempt, &key).max(asked);
        fx.push(Effect::Audit {
            actor: AuditActor::System,
            action: "activity_retry_scheduled",
            detail: json!({
                "activity": activity, "failed_attempt": attempt, "reason": reason,
                "delay_secs": delay.as_secs(), "delay_ms": delay.as_millis() as u64,
            }),
        });
        fx.push(Effect::Notify(Notice::ActivityRetrying { activity: activity.into(), attempt: attempt + 1, reason }));
        self.begin_webhook_try(activity, attempt + 1, delay, fx, now);
    }

    /// A timer of try `attempt` of `activity` fired. A wait that is still waiting succeeds; a
    /// webhook still waiting for its callback fails (and may be retried). If that try already
    /// ended, nothing happens and `None` says so.
    pub fn timer_fired(&mut self, timer: &Timer, now: DateTime<Utc>) -> Option<Vec<Effect>> {
        let (activity, attempt) = (timer.activity.as_str(), timer.attempt);
        let run = self.activity(activity)?;
        // On hold, a timer still ends its wait (time passed); nothing new starts until resumed.
        if run.attempt != attempt || !matches!(self.status, ReleaseStatus::Running | ReleaseStatus::OnHold) {
            return None;
        }
        match timer.purpose {
            TimerPurpose::Remind(n) => return self.remind(activity, attempt, n),
            TimerPurpose::Expire(n) => return self.expire(activity, attempt, n, now),
            TimerPurpose::Due => {}
        }
        match (&self.process.activity(activity)?.kind, run.status) {
            (ActivityKind::Wait(_), StepStatus::Waiting) => {
                let mut fx = vec![];
                self.activity_succeeded(activity, attempt, Default::default(), &mut fx);
                self.advance(&mut fx, now);
                Some(fx)
            }
            (ActivityKind::Webhook(_), StepStatus::Running) => {
                let after = self.process.activity(activity).map(|a| a.timeout.to_string()).unwrap_or_default();
                self.webhook_result(activity, attempt, CallOutcome::failure(format!("no callback within {after}")), now).ok()
            }
            _ => None,
        }
    }

    /// Renders try `attempt` of a webhook activity and asks for it to be called after `delay`.
    /// A template that fails to render fails the activity: retrying cannot fix it.
    fn begin_webhook_try(&mut self, id: &str, attempt: u32, delay: Duration, fx: &mut Vec<Effect>, now: DateTime<Utc>) {
        let Some(spec) = self.process.activity(id).cloned() else { return };
        let ActivityKind::Webhook(hook) = &spec.kind else { return };
        let key = self.run_key(id, attempt);
        let rendered = self.request_context(&spec, &key, attempt).and_then(|ctx| {
            let url = template::render(&hook.url, &ctx)?;
            let body = template::render_json(&hook.body, &ctx)?;
            let headers = template::render_map(&hook.headers, &ctx)?;
            let query = template::render_map(&hook.query, &ctx)?.into_iter().collect();
            let auth = hook.auth.as_ref().map(|a| render_auth(a, &ctx)).transpose()?;
            Ok((url, headers, query, body, auth))
        });
        let release = self.id;
        let release_name = self.name.clone();
        let secrets = self.process.secrets_for(&spec);
        let Some(run) = self.activity_mut(id) else { return };
        run.attempt = attempt;
        match rendered {
            Ok((url, headers, query, body, auth)) => {
                run.status = StepStatus::Running;
                let payload = if hook.envelope {
                    json!({
                        "idempotency_key": key,
                        "release_id": release.0,
                        "release_name": release_name,
                        "activity_id": id,
                        "attempt": attempt,
                        "body": body,
                    })
                } else {
                    body
                };
                fx.push(Effect::CallWebhook(WebhookCall {
                    activity: id.into(),
                    attempt,
                    key,
                    method: hook.method,
                    url,
                    headers,
                    query,
                    payload,
                    raw: !hook.envelope,
                    content_type: hook.content_type.clone(),
                    auth,
                    secrets,
                    secret: hook.secret.clone(),
                    outputs: hook.outputs.clone(),
                    completion: hook.completion,
                    follow: !hook.then.is_empty(),
                    timeout_secs: spec.timeout.as_duration().as_secs(),
                    delay_ms: delay.as_millis() as u64,
                }));
            }
            Err(e) => self.activity_failed(id, attempt, format!("cannot render the webhook request: {e}"), fx, now),
        }
    }

    /// What a request's templates read: the activity's scope, its secrets as placeholders, and
    /// the run (`run.key`, `run.attempt`).
    pub(super) fn request_context(
        &self,
        spec: &super::process::Activity,
        key: &str,
        attempt: u32,
    ) -> Result<serde_json::Value, template::TemplateError> {
        let mut ctx = self.scope_context(self.process.phase_of(&spec.id), Some(spec))?;
        ctx["secrets"] = super::secrets::placeholders(self.process.secrets_for(spec).keys());
        ctx["run"] = json!({"key": key, "attempt": attempt});
        Ok(ctx)
    }
}

/// An `auth` block rendered: placeholders stay in place of secrets.
pub(super) fn render_auth(auth: &Auth, ctx: &serde_json::Value) -> Result<Auth, template::TemplateError> {
    Ok(match auth {
        Auth::Bearer(token) => Auth::Bearer(template::render(token, ctx)?),
        Auth::Basic { user, password } => Auth::Basic { user: template::render(user, ctx)?, password: template::render(password, ctx)? },
    })
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

/// The wait after failed try `failed_attempt`: `backoff` doubled for each failed try, capped at
/// `max_backoff`, then jittered into its upper half so many releases failing together do not
/// retry together. The jitter comes from `key` (the try's idempotency key), not from a random
/// source, so the domain stays deterministic and a replayed decision waits the same.
pub fn backoff(retry: &super::process::Retry, failed_attempt: u32, key: &str) -> Duration {
    let factor = 2u32.saturating_pow(failed_attempt.saturating_sub(1));
    let full = retry.backoff.as_duration().saturating_mul(factor).min(retry.max_backoff.as_duration());
    let half = full / 2;
    // FNV-1a: a stable spread of the key over [0, 1).
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let fraction = (hash >> 11) as f64 / (1u64 << 53) as f64;
    half + half.mul_f64(fraction)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod flow_tests;

#[cfg(test)]
mod follow_tests;

#[cfg(test)]
mod schedule_tests;
