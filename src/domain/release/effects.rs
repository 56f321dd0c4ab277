//! What a transition asks the engine to persist and deliver: audit rows, chat notices, webhook
//! tries, timers, check looks and child releases. Data only; the store and the engine act on it.

use super::*;

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
    /// A timer for try `attempt` of `activity`: a wait's time lock, or the deadline of a webhook
    /// waiting for its callback. Fired through `Release::timer_fired`.
    Timer(Timer),
    /// A look at a `check` activity's URL, due after `delay_secs`.
    Poll(Poll),
    /// A `subprocess` activity's child release, to create and start in the same transaction.
    StartChild(ChildRelease),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
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
    /// A `notice` activity's rendered message, for its channel (the notices channel when `None`).
    Message {
        channel: Option<u64>,
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
