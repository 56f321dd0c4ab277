//! Signed inbound requests: asynchronous completion of `completion: callback` webhooks, and
//! releases triggered from CI. Every refusal is recorded in the audit trail and changes nothing.

use super::{Engine, EngineError, NewRelease};
use crate::domain::principal::Initiator;
use crate::domain::process::{ActivityKind, ReleaseKind};
use crate::domain::release::{AuditActor, CallOutcome, CommandError, Release, ReleaseId, ReleaseStatus};
use crate::domain::Clock as _;
use crate::domain::GuildId;
use crate::store::{Store, StoreError};
use crate::webhook::signing::Secret;
use crate::webhook::{extract_outputs, resolve_secret};
use serde::Deserialize;
use serde_json::json;

/// An unguessable callback token: 32 random bytes, hex.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The Standard Webhooks headers of an inbound request, as received.
#[derive(Debug, Clone, Default)]
pub struct SignedHeaders {
    pub id: Option<String>,
    pub timestamp: Option<String>,
    pub signature: Option<String>,
}

/// Signatures are checked against the sender's wall clock (a freshness window between two
/// machines), never against the application's clock, which tests move.
const WALL_CLOCK: crate::domain::clock::SystemClock = crate::domain::clock::SystemClock;

impl SignedHeaders {
    /// Verifies the request with `secret`; returns its `webhook-id`.
    fn verify(&self, secret: &Secret, body: &[u8]) -> Result<String, String> {
        let id = self.id.as_deref().ok_or("the webhook-id header is missing")?;
        let ts = self.timestamp.as_deref().ok_or("the webhook-timestamp header is missing")?;
        let sig = self.signature.as_deref().ok_or("the webhook-signature header is missing")?;
        secret.verify(id, ts, sig, body, WALL_CLOCK.now().timestamp()).map_err(|e| e.to_string())?;
        Ok(id.to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("unknown callback token")]
    UnknownToken,
    #[error("{0}")]
    Unauthorized(String),
    #[error("webhook-id `{0}` was already used; a replayed callback is refused")]
    Replayed(String),
    #[error("{0}")]
    BadBody(String),
    #[error("{0}")]
    NotRunning(String),
    #[error("the activity's secret cannot be read; the operators have the details in the log")]
    SecretUnavailable,
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for CallbackError {
    fn from(e: StoreError) -> Self {
        CallbackError::Engine(e.into())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallbackBody {
    status: CallbackStatus,
    #[serde(default)]
    outputs: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    log_url: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum CallbackStatus {
    Success,
    Failure,
}

/// What CI sends to create (and optionally start) a release.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerRequest {
    pub guild_id: String,
    pub process: String,
    pub name: String,
    #[serde(default)]
    pub inputs: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub start: bool,
    /// A named input set of the process; `inputs` override its values.
    #[serde(default)]
    pub input_set: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Invalid(String),
    /// A server the trigger may not create releases in.
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for TriggerError {
    fn from(e: StoreError) -> Self {
        TriggerError::Engine(e.into())
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("the body is not valid: {e}"))
}

impl Engine {
    /// Completes a webhook try from its signed callback.
    pub async fn callback(&self, token: &str, headers: &SignedHeaders, body: &[u8]) -> Result<ReleaseId, CallbackError> {
        let mut tx = self.store.begin().await?;
        let Some(target) = Store::callback_target(&mut tx, token).await? else {
            // Names no try: counted and logged in summary, not chained into the audit trail,
            // which anyone could otherwise fill with random tokens.
            self.metrics.record_unknown_callback();
            return Err(CallbackError::UnknownToken);
        };
        let release_id = target.release;
        let mut release = Store::load_release(&mut tx, release_id).await?.ok_or(EngineError::NotFound(release_id))?;
        match self.apply_callback(&mut tx, &mut release, &target, headers, body).await {
            Ok(effects) => {
                tx.commit().await.map_err(StoreError::from)?;
                self.wake_for(&effects);
                Ok(release_id)
            }
            Err(e @ CallbackError::Engine(_)) => Err(e),
            Err(refusal) => {
                Self::audit_refused_callback(&mut tx, &target, headers, &refusal.to_string()).await?;
                tx.commit().await.map_err(StoreError::from)?;
                Err(refusal)
            }
        }
    }

    /// A callback whose body was too large to read: refused, and audited when its token names a
    /// try (like the other refusals); counted when it names none.
    pub async fn callback_too_large(&self, token: &str, headers: &SignedHeaders, limit: usize) -> Result<(), CallbackError> {
        let mut tx = self.store.begin().await?;
        let Some(target) = Store::callback_target(&mut tx, token).await? else {
            self.metrics.record_unknown_callback();
            return Ok(());
        };
        Self::audit_refused_callback(&mut tx, &target, headers, &format!("the body is larger than {} KiB", limit / 1024)).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// The audit row of a callback refused for a real try: which try, which request, why.
    async fn audit_refused_callback(
        tx: &mut crate::store::Tx,
        target: &crate::store::CallbackTarget,
        headers: &SignedHeaders,
        reason: &str,
    ) -> Result<(), StoreError> {
        let detail = json!({"activity": target.activity, "attempt": target.attempt, "webhook_id": headers.id, "reason": reason});
        Store::append_audit(tx, Some(target.release), &AuditActor::System, "callback_refused", &detail).await
    }

    async fn apply_callback(
        &self,
        tx: &mut crate::store::Tx,
        release: &mut Release,
        target: &crate::store::CallbackTarget,
        headers: &SignedHeaders,
        body: &[u8],
    ) -> Result<Vec<crate::domain::release::Effect>, CallbackError> {
        let hook = match release.process.activity(&target.activity).map(|a| &a.kind) {
            Some(ActivityKind::Webhook(hook)) => hook.clone(),
            _ => return Err(CallbackError::NotRunning(format!("`{}` is not a webhook activity", target.activity))),
        };
        let reference = hook.secret.as_ref().ok_or(CallbackError::SecretUnavailable)?;
        let secret = resolve_secret(reference).map_err(|why| {
            tracing::error!(reason = %why, "cannot verify a callback");
            CallbackError::SecretUnavailable
        })?;
        let webhook_id = headers.verify(&secret, body).map_err(CallbackError::Unauthorized)?;
        if !Store::first_sighting(tx, &webhook_id).await? {
            return Err(CallbackError::Replayed(webhook_id));
        }
        let parsed: CallbackBody = parse_json(body).map_err(CallbackError::BadBody)?;
        let outcome = match parsed.status {
            CallbackStatus::Success => {
                let mut outputs = if hook.outputs.is_empty() {
                    parsed.outputs
                } else {
                    extract_outputs(&hook.outputs, &serde_json::Value::Object(parsed.outputs)).map_err(CallbackError::BadBody)?
                };
                if let Some(url) = &parsed.log_url {
                    outputs.insert("log_url".into(), json!(url));
                }
                CallOutcome::Success { outputs, answer: None }
            }
            CallbackStatus::Failure => {
                let mut reason = parsed.reason.unwrap_or_else(|| "the receiver reported a failure".into());
                if let Some(url) = &parsed.log_url {
                    reason.push_str(&format!(" (log: {url})"));
                }
                CallOutcome::Failure { reason, retry_after_secs: None }
            }
        };
        self.metrics.record_webhook_outcome(&outcome);
        let before = release.clone();
        match release.webhook_result(&target.activity, target.attempt, outcome, self.now()) {
            Ok(mut effects) => {
                self.save(tx, &before, release, &mut effects).await?;
                Ok(effects)
            }
            Err(e @ CommandError::Stale { .. }) => Err(CallbackError::NotRunning(e.to_string())),
            Err(e) => Err(CallbackError::Engine(e.into())),
        }
    }

    /// Creates (and optionally starts) a release from CI. The caller's `webhook-id` makes it
    /// idempotent: the same id gets the same release back, with `false` for "not new".
    pub async fn trigger(&self, secret: &Secret, headers: &SignedHeaders, body: &[u8]) -> Result<(Release, bool), TriggerError> {
        let webhook_id = headers.verify(secret, body).map_err(TriggerError::Unauthorized)?;
        let request: TriggerRequest = parse_json(body).map_err(TriggerError::Invalid)?;
        let guild_id = request
            .guild_id
            .parse()
            .map(GuildId)
            .map_err(|_| TriggerError::Invalid(format!("guild_id `{}` is not a server id", request.guild_id)))?;
        self.may_trigger_in(guild_id).map_err(TriggerError::Forbidden)?;
        let mut tx = self.store.begin().await?;
        if let Some(existing) = Store::triggered_release(&mut tx, &webhook_id).await? {
            let release = Store::load_release(&mut tx, existing).await?.ok_or(EngineError::NotFound(existing))?;
            drop(tx);
            // A retry of a request whose start did not happen (the first attempt failed after
            // creating) completes it; a release already started is returned as it is.
            if request.start && release.status == ReleaseStatus::Draft {
                return Ok((self.start_from_ci(release.guild_id, &webhook_id, release.id).await?, false));
            }
            return Ok((release, false));
        }
        let inputs = request
            .inputs
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => Ok((k.clone(), s.clone())),
                serde_json::Value::Array(items) => Ok((
                    k.clone(),
                    items.iter().map(|i| i.as_str().map(String::from).unwrap_or_else(|| i.to_string())).collect::<Vec<_>>().join(","),
                )),
                serde_json::Value::Number(_) | serde_json::Value::Bool(_) => Ok((k.clone(), v.to_string())),
                _ => Err(TriggerError::Invalid(format!("input `{k}` must be a string, number, boolean or list"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut draft = self.draft(
            Initiator::Ci,
            NewRelease { guild_id, process: request.process, name: request.name, inputs, input_set: request.input_set, channel: None },
        )?;
        if let Some(kind) = &request.kind {
            draft.process.kind = ReleaseKind::parse(kind)
                .ok_or_else(|| TriggerError::Invalid(format!("kind `{kind}` is not one of {}", ReleaseKind::NAMES.join(", "))))?;
        }
        if request.start {
            // A freeze refuses the start before anything is stored: the request can come again later.
            let unsaved = draft.clone().stored(crate::domain::release::ReleaseId(0), String::new());
            self.freeze_check(&unsaved, None, None).await?;
        }
        let mut release = Self::insert_draft(&mut tx, AuditActor::Ci { webhook_id: webhook_id.clone() }, draft).await?;
        Store::insert_trigger(&mut tx, &webhook_id, release.id).await?;
        // Created and started in one commit: a trigger that fails (a full disk) leaves nothing
        // behind, so its retry, even under a new webhook-id, cannot make a second release.
        let mut effects = vec![];
        if request.start {
            let before = release.clone();
            effects = release.start_from_ci(&webhook_id, self.now()).map_err(EngineError::from)?;
            self.save(&mut tx, &before, &release, &mut effects).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        self.wake_for(&effects);
        Ok((release, true))
    }
}
