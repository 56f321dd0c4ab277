//! The engine applies commands to releases: one `BEGIN IMMEDIATE` transaction per state change,
//! holding the new state, its audit rows and the outbox rows for its side effects.

mod worker;

pub use worker::{drain_loop, Shutdown, WebhookWorker};

use crate::domain::inputs::{self, InputError};
use crate::domain::principal::Actor;
use crate::domain::process_file::Catalog;
use crate::domain::release::{AuditActor, CallOutcome, CommandError, Effect, Progress, Release, ReleaseId, WebhookCall};
use crate::store::{OutboxItem, Store, StoreError, Topic};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("there is no process `{name}`; known processes: {known}")]
    UnknownProcess { name: String, known: String },
    #[error("a release needs a name")]
    EmptyName,
    #[error(transparent)]
    Inputs(#[from] InputError),
    #[error("there is no release {0} in this server")]
    NotFound(ReleaseId),
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("storage failed")]
    Store(#[from] StoreError),
}

/// What `/release create` asks for.
#[derive(Debug, Clone)]
pub struct NewRelease {
    pub guild_id: u64,
    pub process: String,
    pub name: String,
    pub inputs: String,
}

#[derive(Clone)]
pub struct Engine {
    store: Store,
    catalog: Arc<Catalog>,
    /// Woken when webhook work is enqueued.
    pub webhook_wake: Arc<Notify>,
    /// Woken when chat messages are enqueued.
    pub chat_wake: Arc<Notify>,
}

impl Engine {
    pub fn new(store: Store, catalog: Catalog) -> Self {
        Self {
            store,
            catalog: Arc::new(catalog),
            webhook_wake: Arc::new(Notify::new()),
            chat_wake: Arc::new(Notify::new()),
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn wake_for(&self, effects: &[Effect]) {
        if effects.iter().any(|e| matches!(e, Effect::CallWebhook(_))) {
            self.webhook_wake.notify_one();
        }
        if effects.iter().any(|e| matches!(e, Effect::Notify(_))) {
            self.chat_wake.notify_one();
        }
    }

    /// Validates and stores a Draft release. Nothing is stored when anything is wrong.
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.user))]
    pub async fn create_release(&self, actor: &Actor, new: NewRelease) -> Result<Release, EngineError> {
        let process = self.catalog.get(&new.process).ok_or_else(|| EngineError::UnknownProcess {
            name: new.process.clone(),
            known: self.catalog.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "),
        })?;
        let name = new.name.trim();
        if name.is_empty() {
            return Err(EngineError::EmptyName);
        }
        let inputs = inputs::validate(process, inputs::parse_pairs(&new.inputs)?)?;
        let mut release = Release::new_draft(
            ReleaseId(0),
            new.guild_id,
            name.to_string(),
            process.clone(),
            inputs,
            actor.user,
            chrono::Utc::now(),
        );
        let mut tx = self.store.begin().await?;
        release.id = Store::insert_release(&mut tx, &release).await?;
        Store::persist_effects(&mut tx, &release, &release.created_effects(actor)).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(release)
    }

    /// A release of `guild`, as it is now.
    pub async fn release(&self, guild_id: u64, id: ReleaseId) -> Result<Release, EngineError> {
        let mut tx = self.store.pool().begin().await.map_err(StoreError::from)?;
        let release = Store::load_release(&mut tx, id).await?;
        release.filter(|r| r.guild_id == guild_id).ok_or(EngineError::NotFound(id))
    }

    #[tracing::instrument(skip(self, actor), fields(actor = %actor.user))]
    pub async fn start_release(&self, guild_id: u64, actor: &Actor, id: ReleaseId) -> Result<Release, EngineError> {
        self.transition(guild_id, id, |r| r.start(actor)).await
    }

    #[tracing::instrument(skip(self, actor), fields(actor = %actor.user))]
    pub async fn approve(&self, guild_id: u64, actor: &Actor, id: ReleaseId, activity: &str) -> Result<(Release, Progress), EngineError> {
        let mut progress = None;
        let release = self
            .audited_refusal(guild_id, actor, id, activity, |r| {
                let (p, fx) = r.approve(actor, activity)?;
                progress = Some(p);
                Ok(fx)
            })
            .await?;
        let progress = progress.unwrap_or(Progress { approvals: 0, min: 0 });
        Ok((release, progress))
    }

    #[tracing::instrument(skip(self, actor), fields(actor = %actor.user))]
    pub async fn reject(&self, guild_id: u64, actor: &Actor, id: ReleaseId, activity: &str) -> Result<Release, EngineError> {
        self.audited_refusal(guild_id, actor, id, activity, |r| r.reject(actor, activity))
            .await
    }

    /// Like `transition`, but a refused decision is written to the audit trail before the
    /// refusal goes back to the person.
    async fn audited_refusal(
        &self,
        guild_id: u64,
        actor: &Actor,
        id: ReleaseId,
        activity: &str,
        command: impl FnOnce(&mut Release) -> Result<Vec<Effect>, CommandError>,
    ) -> Result<Release, EngineError> {
        match self.transition(guild_id, id, command).await {
            Err(EngineError::Command(CommandError::Refused(refusal))) => {
                let mut tx = self.store.begin().await?;
                let detail = json!({"activity": activity, "reason": refusal.to_string()});
                Store::append_audit(&mut tx, Some(id), &AuditActor::from(actor), "approval_refused", &detail).await?;
                tx.commit().await.map_err(StoreError::from)?;
                Err(CommandError::Refused(refusal).into())
            }
            other => other,
        }
    }

    /// Loads, applies `command`, saves the new state with its effects, commits; or changes nothing.
    async fn transition(
        &self,
        guild_id: u64,
        id: ReleaseId,
        command: impl FnOnce(&mut Release) -> Result<Vec<Effect>, CommandError>,
    ) -> Result<Release, EngineError> {
        let mut tx = self.store.begin().await?;
        let mut release = Store::load_release(&mut tx, id)
            .await?
            .filter(|r| r.guild_id == guild_id)
            .ok_or(EngineError::NotFound(id))?;
        let effects = command(&mut release)?;
        Store::save_release(&mut tx, &release, &effects).await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.wake_for(&effects);
        Ok(release)
    }

    /// Applies the result of a delivered webhook try, fenced twice: by the outbox claim (a
    /// re-claimed delivery cannot complete) and by the attempt number (an old try changes nothing;
    /// it is recorded in the audit trail).
    pub async fn record_webhook_result(&self, item: &OutboxItem, call: &WebhookCall, outcome: CallOutcome) -> Result<(), EngineError> {
        let Some(id) = item.release_id else { return Ok(()) };
        let mut tx = self.store.begin().await?;
        if !Store::complete_outbox(&mut tx, item).await? {
            tracing::warn!(key = %item.key, "delivery was re-claimed by another worker; its result is dropped");
            return Ok(());
        }
        let Some(mut release) = Store::load_release(&mut tx, id).await? else {
            tx.commit().await.map_err(StoreError::from)?;
            return Ok(());
        };
        let reason = match &outcome {
            CallOutcome::Success => None,
            CallOutcome::Failure(r) => Some(r.clone()),
        };
        match release.webhook_result(&call.activity, call.attempt, outcome) {
            Ok(effects) => {
                Store::save_release(&mut tx, &release, &effects).await?;
                tx.commit().await.map_err(StoreError::from)?;
                self.wake_for(&effects);
            }
            Err(e @ CommandError::Stale { .. }) => {
                let detail = json!({"activity": call.activity, "attempt": call.attempt, "error": reason, "why_ignored": e.to_string()});
                Store::append_audit(&mut tx, Some(id), &AuditActor::System, "stale_result_ignored", &detail).await?;
                tx.commit().await.map_err(StoreError::from)?;
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// Completes an outbox row that cannot be delivered, recording why in the audit trail.
    pub async fn set_aside(&self, item: &OutboxItem, why: &str) -> Result<(), EngineError> {
        let mut tx = self.store.begin().await?;
        if Store::complete_outbox(&mut tx, item).await? {
            let detail = json!({"key": item.key, "why": why});
            Store::append_audit(&mut tx, item.release_id, &AuditActor::System, "delivery_set_aside", &detail).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Claims the next chat message to post.
    pub async fn claim_chat(&self) -> Result<Option<OutboxItem>, StoreError> {
        self.store.claim_outbox(Topic::Chat, Duration::from_secs(30)).await
    }

    /// Marks a chat message posted.
    pub async fn chat_delivered(&self, item: &OutboxItem) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        Store::complete_outbox(&mut tx, item).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Puts a chat message back to be tried again after `delay`.
    pub async fn chat_failed(&self, item: &OutboxItem, delay: Duration, error: &str) -> Result<(), StoreError> {
        self.store.retry_outbox(item, delay, error).await
    }
}
