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
    ApprovalRequested {
        activity: String,
        /// Who may decide (and is pinged): the open level's approvers and groups.
        approvers: Vec<String>,
        min: u32,
        /// The level that opened; empty for a single-level approval.
        #[serde(default)]
        level: String,
        /// What the level needs, in words ("2 approvals, at least 1 from role:QA").
        #[serde(default)]
        needs: String,
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
    /// The audit chain's head, posted once a day (UTC) to the audit channel whether or not a
    /// release ended, so even a quiet day's history is pinned outside the database.
    DailyAuditHead {
        day: String,
        row: i64,
        hash: String,
    },
}

impl Notice {
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
