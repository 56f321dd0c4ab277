//! What a transition asks the engine to persist and deliver: audit rows, chat notices, webhook
//! tries, timers, check looks and child releases. Data only; the store and the engine act on it.

use super::*;

/// Who did something, for the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuditActor {
    User {
        id: UserId,
        name: String,
    },
    /// A CI system, through the signed trigger request `webhook_id`.
    Ci {
        webhook_id: String,
    },
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
    /// A timer for try `attempt` of `activity`: a wait's time lock, or the deadline of a webhook
    /// waiting for its callback. Fired through `Release::timer_fired`.
    Timer(Timer),
    /// A look at a `check` activity's URL or a webhook's follow-up poll, due after `delay_secs`.
    Poll(Poll),
    /// A `subprocess` activity's child release, to create and start in the same transaction.
    StartChild(ChildRelease),
    /// A scheduled release's start, due at its time.
    StartAt(StartTimer),
    /// The advance shipping notice, to post or bring up to date.
    AdvanceNotice(AdvanceNotice),
}

/// When the advance shipping notice of schedule `generation` is due: `None` at once (an edit),
/// else its time (`advance` before the start; at once if that has passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvanceNotice {
    pub due: Option<DateTime<Utc>>,
    pub generation: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    pub activity: String,
    pub attempt: u32,
    pub after_secs: u64,
    #[serde(default)]
    pub purpose: TimerPurpose,
}

impl Timer {
    /// A wait's end or a callback's deadline.
    pub fn due(activity: &str, attempt: u32, after_secs: u64) -> Self {
        Self { activity: activity.into(), attempt, after_secs, purpose: TimerPurpose::Due }
    }

    /// Distinguishes this timer among its try's timers (the outbox key's last part).
    pub fn key_suffix(&self) -> String {
        match self.purpose {
            TimerPurpose::Due => "deadline".into(),
            TimerPurpose::Remind(n) => format!("remind-{n}"),
            TimerPurpose::Expire(n) => format!("expire-{n}"),
        }
    }
}

/// What a timer is for. Numbered ones re-arm with the next number, so each has its own key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerPurpose {
    /// A wait's time lock or a webhook's callback deadline.
    #[default]
    Due,
    /// The `n`th reminder of an open approval.
    Remind(u32),
    /// The `n`th check whether an approval expired (it re-arms while the release is on hold
    /// and after an escalation).
    Expire(u32),
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
    /// A phase finished and the next ones started in the same step: one line, not two.
    PhaseAdvanced {
        finished: String,
        status: StepStatus,
        started: Vec<String>,
    },
    ApprovalRequested {
        activity: String,
        /// Who may decide (and is pinged): the open level's approvers and groups.
        approvers: Vec<String>,
        min: u32,
        /// The level that opened; empty for a single-level approval.
        #[serde(default)]
        level: String,
        /// Its place among the approval's levels (0 for the first or only one): carried by the
        /// request's buttons.
        #[serde(default)]
        level_index: u32,
        /// What the level needed, in words, in rows queued before `require` was kept; unused.
        #[serde(default, skip_serializing)]
        needs: String,
        /// The groups the level needs approvers from, beyond `min` in all.
        #[serde(default)]
        require: Vec<crate::domain::process::GroupMin>,
        /// The time lock: no decision before this.
        #[serde(default)]
        opens_at: Option<DateTime<Utc>>,
    },
    /// An approval still waits: its open level's approvers are pinged again.
    ApprovalReminder {
        activity: String,
        approvers: Vec<String>,
        level: String,
        approvals: u32,
        min: u32,
    },
    /// An approval expired and went to more people, who are pinged.
    ApprovalEscalated {
        activity: String,
        to: Vec<String>,
        after: String,
    },
    /// The system approved because the process's condition held.
    AutoApproved {
        activity: String,
        condition: String,
        risk: RiskLevel,
    },
    ActivityRetrying {
        activity: String,
        attempt: u32,
        reason: String,
    },
    /// How an activity that was retried automatically ended: the retry's announcement is
    /// followed by its outcome.
    RetryOutcome {
        activity: String,
        attempt: u32,
        succeeded: bool,
    },
    /// An activity found a link worth following (a run's page), posted once in the thread.
    ActivityLink {
        activity: String,
        name: String,
        url: String,
    },
    /// A `notice` activity's rendered message, for its channel (the notices channel when `None`).
    Message {
        channel: Option<ChannelId>,
        text: String,
    },
    RollbackStarted {
        reason: String,
    },
    ReleaseHeld {
        by: String,
        reason: String,
    },
    /// A manual task to do and mark done (a button in chat).
    ManualTask {
        activity: String,
        checklist: String,
        owner: Option<String>,
    },
    ReleaseResumed {
        by: String,
    },
    /// A person retried a failed activity, or skipped it with `skipped` as the reason.
    ActivityContinued {
        by: String,
        activity: String,
        skipped: Option<String>,
    },
    ReleaseFinished {
        status: ReleaseStatus,
        reason: Option<String>,
    },
    /// Nobody needs to answer the release's open requests (of `activity`, or all of them) any
    /// more: their buttons give way to one disabled button saying `why`. Edits, posts nothing.
    RequestsClosed {
        activity: Option<String>,
        why: String,
    },
    /// The audit chain's head as the release ended, for the audit channel: once posted, a
    /// rewritten database can no longer match what the channel shows.
    AuditHead {
        row: i64,
        hash: String,
    },
    /// Started by hand this long before its planned time.
    StartedEarly {
        by_secs: u64,
    },
    /// Started by its schedule this long after its planned time (the bot was down then).
    StartedLate {
        by_secs: u64,
    },
    /// Its planned start did not happen; it is a Draft again. (A skipped occurrence ends the
    /// release instead, and its end message says so.)
    ScheduledStartRefused {
        why: String,
    },
    /// Started inside a freeze by an admin's override.
    FreezeOverridden {
        by: String,
        freeze: String,
        reason: String,
    },
}

/// Merges a phase's end with the start of the phases after it when one step does both, so the
/// thread reads "build done · qa started" once rather than two lines.
pub fn merge_phase_notices(effects: Vec<Effect>) -> Vec<Effect> {
    let mut out: Vec<Effect> = Vec::with_capacity(effects.len());
    let mut finished_at: Option<usize> = None;
    for effect in effects {
        match effect {
            Effect::Notify(Notice::PhaseFinished { phase, status }) => {
                finished_at = Some(out.len());
                out.push(Effect::Notify(Notice::PhaseFinished { phase, status }));
            }
            Effect::Notify(Notice::PhaseStarted { phase }) if finished_at.is_some() => {
                let at = finished_at.unwrap_or_default();
                match &mut out[at] {
                    Effect::Notify(Notice::PhaseAdvanced { started, .. }) => started.push(phase),
                    Effect::Notify(Notice::PhaseFinished { phase: finished, status }) => {
                        out[at] =
                            Effect::Notify(Notice::PhaseAdvanced { finished: finished.clone(), status: *status, started: vec![phase] });
                    }
                    _ => out.push(Effect::Notify(Notice::PhaseStarted { phase })),
                }
            }
            // Anything else said in between ends the merge: the order people read stays true.
            other @ Effect::Notify(_) => {
                finished_at = None;
                out.push(other);
            }
            other => out.push(other),
        }
    }
    out
}

impl Notice {
    /// Progress belongs in the release's thread; its end, and what a process announces on
    /// purpose, belong in the channel where stakeholders read.
    pub fn is_progress(&self) -> bool {
        !matches!(
            self,
            Notice::ReleaseFinished { .. }
                | Notice::AuditHead { .. }
                | Notice::Message { .. }
                | Notice::ScheduledStartRefused { .. }
                | Notice::FreezeOverridden { .. }
        )
    }

    /// The principals this notice pings: only requests for someone's action ping anyone
    /// (approvers, whom an approval escalated to, a manual task's owner).
    pub fn pings(&self) -> &[String] {
        match self {
            Notice::ApprovalRequested { approvers, .. } | Notice::ApprovalReminder { approvers, .. } => approvers,
            Notice::ApprovalEscalated { to, .. } => to,
            Notice::ManualTask { owner: Some(owner), .. } => std::slice::from_ref(owner),
            _ => &[],
        }
    }
}

/// One webhook try, rendered in full when it is decided so a replay sends the same bytes.
/// Secrets are in it only as placeholders (`domain::secrets`); the adapter reads their values
/// when it sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookCall {
    pub activity: String,
    pub attempt: u32,
    /// The idempotency key (`Idempotency-Key`, `webhook-id`): one per run of the activity, the
    /// same across its automatic retries, new when a person retries it, and led by the
    /// installation id. Empty in rows queued before keys had runs.
    #[serde(default)]
    pub key: String,
    pub method: HttpMethod,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    /// Query parameters to add to `url`.
    #[serde(default)]
    pub query: Vec<(String, String)>,
    /// The body: the envelope, or with `raw` exactly the rendered `body`.
    pub payload: serde_json::Value,
    /// Send `payload` as it is (a string as its text), not as the envelope.
    #[serde(default)]
    pub raw: bool,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub auth: Option<Auth>,
    /// The secrets the request may reveal: where each is, never its value.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretRef>,
    /// Where the signing secret is; resolved at send time, never stored.
    pub secret: Option<SecretRef>,
    pub outputs: BTreeMap<String, String>,
    pub completion: Completion,
    /// Polls follow this try's answer, so the adapter returns the answer itself.
    #[serde(default)]
    pub follow: bool,
    pub timeout_secs: u64,
    /// How long to wait before this try (0 for a first try), in milliseconds: backoffs can be
    /// shorter than a second.
    #[serde(default)]
    pub delay_ms: u64,
}

impl WebhookCall {
    /// A first try of `activity`: POST `payload` (the envelope) to `url`, answered in 30 s.
    pub fn post(activity: &str, url: &str, payload: serde_json::Value) -> Self {
        Self {
            activity: activity.into(),
            attempt: 1,
            key: String::new(),
            method: HttpMethod::Post,
            url: url.into(),
            headers: BTreeMap::new(),
            query: vec![],
            payload,
            raw: false,
            content_type: None,
            auth: None,
            secrets: BTreeMap::new(),
            secret: None,
            outputs: BTreeMap::new(),
            completion: Completion::Response,
            follow: false,
            timeout_secs: 30,
            delay_ms: 0,
        }
    }

    /// The outbox key of one try, unique per try: `<release>/<activity>/<attempt>`.
    pub fn idempotency_key(release: ReleaseId, activity: &str, attempt: u32) -> String {
        format!("{release}/{activity}/{attempt}")
    }

    /// The key a receiver sees for a run that began with try `first_attempt`:
    /// `<installation>/<release>/<activity>/run-<first attempt>`.
    pub fn run_key(installation: &str, release: ReleaseId, activity: &str, first_attempt: u32) -> String {
        let run = format!("{release}/{activity}/run-{}", first_attempt.max(1));
        if installation.is_empty() {
            run
        } else {
            format!("{installation}/{run}")
        }
    }
}

/// A webhook's answer, kept when polls follow it: the JSON body's fields, with
/// `headers.<lowercase name>` and `status_code` (Trainmaster's win over body fields of those names).
pub type Answer = serde_json::Value;

/// How a webhook try ended.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutcome {
    /// Done, with the outputs the process maps from the answer, and the answer itself when
    /// polls follow it (`WebhookCall::follow`).
    Success { outputs: serde_json::Map<String, serde_json::Value>, answer: Option<Answer> },
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
        CallOutcome::Success { outputs: Default::default(), answer: None }
    }
}
