//! The engine applies commands to releases: one `BEGIN IMMEDIATE` transaction per state change,
//! holding the new state, its audit rows and the outbox rows for its side effects.

mod cache;
mod callbacks;
mod children;
mod delegations;
mod group_commit;
mod groups;
mod guilds;
mod insight;
mod metrics;
mod planning;
mod worker;

pub use callbacks::{CallbackError, SignedHeaders, TriggerError, TriggerRequest};
pub use delegations::NewDelegation;
pub use groups::{plan_groups_until_stopped, GroupView};
pub use guilds::ChannelDirectory;
pub use insight::{archive_until_stopped, DEFAULT_RETENTION_DAYS};
pub use metrics::Metrics;
pub use planning::{conflicts_text, planned_duration, Scheduled};
use worker::WEBHOOK_LEASE;
pub use worker::{
    checkpoint_until_stopped, daily_audit_head_until_stopped, drain_loop, publish_todays_audit_head, NextTask, Shutdown, WebhookWorker,
};

/// How long a claimed chat message stays claimed: a post that takes longer is posted again, under
/// the same nonce.
const CHAT_LEASE: Duration = Duration::from_secs(30);

use crate::domain::access::{self, AccessPolicy};
use crate::domain::inputs::{self, InputError};
use crate::domain::principal::{Actor, Initiator};
use crate::domain::process::Completion;
use crate::domain::process_file::Catalog;
use crate::domain::release::{
    AuditActor, CommandError, Draft, Effect, Look, Notice, Poll, Progress, Release, ReleaseId, ReleaseStatus, Spanning, Timer,
};
use crate::domain::{ChannelId, GuildId};
use crate::store::{
    enqueue_chat_to, AuditRow, CardRedraw, DrawnCard, OutboxItem, ReleaseFilter, ReleasePage, Store, StoreError, Topic, Tx,
};
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
    #[error("process `{process}` has no input set `{name}`; {known}")]
    UnknownInputSet { process: String, name: String, known: String },
    #[error("{0}")]
    NotRunnable(String),
    #[error(transparent)]
    Inputs(#[from] InputError),
    #[error("there is no release {0} in this server")]
    NotFound(ReleaseId),
    #[error("{}", foreign_channel(process, *channel, *elsewhere))]
    ForeignChannel { process: String, channel: ChannelId, elsewhere: bool },
    #[error("process `{process}` names no notices channel and this server has no default: add `notices: {{ channel: \"<channel id>\" }}` to the process, set `notices_channel` under `[guilds.{guild}]` in trainmaster.toml, or create the release from a channel in chat")]
    NoNoticesChannel { process: String, guild: GuildId },
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("storage failed")]
    Store(#[from] StoreError),
    /// A planned time that cannot be read or is past.
    #[error("{0}")]
    When(String),
    /// A freeze refuses the start (the text says which, until when, and what is allowed).
    #[error("{0}")]
    Frozen(String),
    /// The planned window overlaps others that share an environment or a service.
    #[error("{0}")]
    Conflicts(String),
}

fn foreign_channel(process: &str, channel: ChannelId, elsewhere: bool) -> String {
    let why = if elsewhere { "is in another server" } else { "is not a channel of this server that the bot can see" };
    format!(
        "process `{process}` posts to channel {channel}, which {why}; a release only posts in its own server. Point the process's `notices.channel` (or the notice's `channel`) at a channel here, or limit the process to its server with `guilds:`"
    )
}

/// What an operator asks of a release.
#[derive(Debug, Clone)]
pub enum Control {
    Hold { reason: String },
    Resume,
    Abort { reason: String },
    Retry { activity: String },
    Skip { activity: String, reason: String },
}

/// How many webhook-topic rows (tries, timers, looks) `effects` queue.
fn webhook_work(effects: &[Effect]) -> usize {
    effects.iter().filter(|e| matches!(e, Effect::CallWebhook(_) | Effect::Timer(_) | Effect::Poll(_))).count()
}

/// What `/release create` (or a CI trigger) asks for.
#[derive(Debug, Clone)]
pub struct NewRelease {
    pub guild_id: GuildId,
    pub process: String,
    pub name: String,
    /// `key=value` pairs, as parsed from chat or taken from a trigger's JSON.
    pub inputs: Vec<(String, String)>,
    /// A named input set of the process to start from; `inputs` override its values.
    pub input_set: Option<String>,
    /// Where it is being created (a chat channel; `None` from CI): the release's notices channel
    /// when its process names none.
    pub channel: Option<ChannelId>,
}

#[derive(Clone)]
pub struct Engine {
    store: Store,
    catalog: Arc<Catalog>,
    /// Woken when webhook work is enqueued.
    pub webhook_wake: Arc<Notify>,
    /// Woken when chat messages are enqueued.
    pub chat_wake: Arc<Notify>,
    /// Woken when release groups should be planned again (the clock moved).
    pub planner_wake: Arc<Notify>,
    /// Base of the callback URLs given to `completion: callback` webhooks, like
    /// `https://trainmaster.example.com`.
    callback_base: Arc<str>,
    pub metrics: Arc<Metrics>,
    /// Where the audit chain's head is published at each release's end.
    audit_channel: Option<ChannelId>,
    /// Who may do what, per guild.
    access: Arc<AccessPolicy>,
    /// Which server each channel belongs to (set once the chat adapter is up).
    directory: guilds::DirectorySlot,
    /// The servers CI may trigger releases in; `None`: every server the bot is in.
    trigger_guilds: Option<Arc<[GuildId]>>,
    /// Each server's notices channel for processes that name none (`[guilds.<id>] notices_channel`).
    default_notices: Arc<std::collections::BTreeMap<GuildId, ChannelId>>,
    /// Releases as their last confirmed commit left them, for the webhook workers' hot path.
    cache: Arc<cache::ReleaseCache>,
    /// Webhook results waiting to be recorded together (see `group_commit`).
    results: Arc<group_commit::ResultQueue>,
    /// Each server's time zone and declared freezes.
    guild_settings: Arc<std::collections::BTreeMap<GuildId, crate::app::GuildSettings>>,
}

impl Engine {
    pub fn new(store: Store, catalog: Catalog, callback_base: &str) -> Self {
        Self {
            store,
            catalog: Arc::new(catalog),
            webhook_wake: Arc::new(Notify::new()),
            chat_wake: Arc::new(Notify::new()),
            planner_wake: Arc::new(Notify::new()),
            callback_base: callback_base.trim_end_matches('/').into(),
            metrics: Arc::new(Metrics::default()),
            audit_channel: None,
            access: Arc::new(AccessPolicy::default()),
            directory: Default::default(),
            trigger_guilds: None,
            default_notices: Default::default(),
            cache: Default::default(),
            results: Default::default(),
            guild_settings: Default::default(),
        }
    }

    /// Publishes the audit chain's head to `channel` whenever a release ends.
    pub fn with_default_notices(mut self, channels: impl IntoIterator<Item = (GuildId, ChannelId)>) -> Self {
        self.default_notices = Arc::new(channels.into_iter().collect());
        self
    }

    pub fn with_trigger_guilds(mut self, guilds: Option<Vec<GuildId>>) -> Self {
        self.trigger_guilds = guilds.map(Into::into);
        self
    }

    pub fn with_audit_channel(mut self, channel: Option<ChannelId>) -> Self {
        self.audit_channel = channel;
        self
    }

    /// Enqueues `day`'s audit head for the audit channel, unless it already was; returns whether
    /// it was enqueued now. Nothing without an audit channel or an audit row.
    pub async fn publish_daily_audit_head(&self, day: &str) -> Result<bool, EngineError> {
        let Some(channel) = self.audit_channel else { return Ok(false) };
        let mut tx = self.store.begin().await?;
        let enqueued = crate::store::enqueue_daily_audit_head(&mut tx, channel, day).await?;
        tx.commit().await.map_err(StoreError::from)?;
        if enqueued {
            self.chat_wake.notify_one();
        }
        Ok(enqueued)
    }

    pub fn with_access(mut self, access: AccessPolicy) -> Self {
        self.access = Arc::new(access);
        self
    }

    /// Refuses `actor` reading releases of `guild_id` when its viewers are configured and they are not one.
    pub fn may_view(&self, guild_id: GuildId, actor: &Actor) -> Result<(), EngineError> {
        Ok(self.access.may_view(guild_id, actor).map_err(CommandError::from)?)
    }

    /// Whether reading releases of `guild_id` is restricted at all: when not, callers need not
    /// work out who is asking (the busiest commands are reads).
    pub fn restricts_viewing(&self, guild_id: GuildId) -> bool {
        self.access.guilds.get(&guild_id).is_some_and(|roles| !roles.viewers.is_empty())
    }

    /// Refuses `actor` creating releases of `process` in `guild_id` (an unknown process passes;
    /// creating then names it).
    pub fn may_create(&self, guild_id: GuildId, actor: &Actor, process: &str) -> Result<(), EngineError> {
        match self.catalog.get(process) {
            Some(p) => Ok(self.access.may_create(guild_id, actor, p).map_err(CommandError::from)?),
            None => Ok(()),
        }
    }

    /// Now, by the application's one clock (the store's).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.store.now()
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn wake_for(&self, effects: &[Effect]) {
        // A deadline wakes the workers too, so they re-read when the next row is due.
        // Work saved for other releases (a child started, a parent going on) is not among these
        // effects: `save` wakes every worker for it. Here, one idle worker per new piece of this
        // release's webhook work (a stored permit covers a worker that is busy now): waking all
        // 32 for one try sends them all to the writer for a claim only one of them wins, and the
        // next click's transaction queues behind them (measured: the approval bench's p99 went
        // from 9 ms to over 20 ms when every release's end woke every worker).
        self.wake(webhook_work(effects), effects.iter().any(|e| matches!(e, Effect::Notify(_))));
    }

    /// Wakes `webhook` idle webhook workers, and the chat worker when `chat`.
    fn wake(&self, webhook: usize, chat: bool) {
        for _ in 0..webhook {
            self.webhook_wake.notify_one();
        }
        if chat {
            self.chat_wake.notify_one();
        }
    }

    /// Wakes every worker to look at its queue again: after the clock moved (tests, the demo).
    pub fn wake_workers(&self) {
        self.webhook_wake.notify_waiters();
        self.webhook_wake.notify_one();
        self.chat_wake.notify_one();
        self.planner_wake.notify_one();
    }

    /// A checked, unsaved Draft.
    fn draft(&self, created_by: Initiator, new: NewRelease) -> Result<Draft, EngineError> {
        // A process this server may not use is unknown here, as in the lists.
        let process = self.process_for(new.guild_id, &new.process).ok_or_else(|| EngineError::UnknownProcess {
            name: new.process.clone(),
            known: self.processes_for(new.guild_id).map(|p| format!("`{}`", p.name)).collect::<Vec<_>>().join(", "),
        })?;
        let name = new.name.trim();
        if name.is_empty() {
            return Err(EngineError::EmptyName);
        }
        let mut process = process.clone();
        if process.notices_channel.is_none() {
            // Pinned with the release, so every notice of it goes to the same channel.
            let channel = new.channel.or_else(|| self.default_notices.get(&new.guild_id).copied());
            let channel = channel.ok_or_else(|| EngineError::NoNoticesChannel { process: process.name.clone(), guild: new.guild_id })?;
            process.notices_channel = Some(channel);
        }
        process.pin_children(&self.catalog).map_err(EngineError::NotRunnable)?;
        let process = &process;
        let pairs = Self::with_input_set(process, new.inputs, new.input_set.as_deref())?;
        let inputs = inputs::validate(process, pairs)?;
        self.check_channels(new.guild_id, process)?;
        Ok(Draft {
            guild_id: new.guild_id,
            name: name.to_string(),
            process: process.clone(),
            inputs,
            created_by,
            created_at: self.now(),
            parent: None,
        })
    }

    /// The required inputs of `new`'s process that neither its inputs nor its input set give:
    /// what `/release create` asks for in a form. Empty when the process is unknown (creating
    /// then says so).
    pub fn missing_inputs(&self, new: &NewRelease) -> Vec<crate::domain::process::InputSpec> {
        let Some(process) = self.catalog.get(&new.process) else { return vec![] };
        match Self::with_input_set(process, new.inputs.clone(), new.input_set.as_deref()) {
            Ok(pairs) => inputs::missing_required(process, &pairs).into_iter().cloned().collect(),
            Err(_) => vec![],
        }
    }

    /// `pairs` after the values of input set `set` they do not give themselves.
    fn with_input_set(
        process: &crate::domain::Process,
        mut pairs: Vec<(String, String)>,
        set: Option<&str>,
    ) -> Result<Vec<(String, String)>, EngineError> {
        if let Some(set) = set {
            let values = process.input_sets.get(set).ok_or_else(|| EngineError::UnknownInputSet {
                process: process.name.clone(),
                name: set.to_string(),
                known: match process.input_sets.len() {
                    0 => "it has none".to_string(),
                    _ => format!("it has {}", process.input_sets.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")),
                },
            })?;
            let given: Vec<String> = pairs.iter().map(|(k, _)| k.clone()).collect();
            let from_set = values.iter().filter(|(k, _)| !given.contains(k)).map(|(k, v)| (k.clone(), v.clone()));
            pairs = from_set.chain(pairs).collect();
        }
        Ok(pairs)
    }

    /// Validates and stores a Draft release. Nothing is stored when anything is wrong.
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.user))]
    pub async fn create_release(&self, actor: &Actor, new: NewRelease) -> Result<Release, EngineError> {
        self.may_create(new.guild_id, actor, &new.process)?;
        let draft = self.draft(Initiator::Person(actor.user), new)?;
        let mut tx = self.store.begin().await?;
        let release = Self::insert_draft(&mut tx, actor.into(), draft).await?;
        // Put before the commit, like every save, so a later save of it always wins.
        let saved = self.cache.put_pending(&release);
        self.commit_confirming(tx, release.id, Some(saved)).await?;
        Ok(release)
    }

    async fn insert_draft(tx: &mut Tx, by: AuditActor, draft: Draft) -> Result<Release, EngineError> {
        let release = Store::insert_release(tx, draft).await?;
        Store::persist_effects(tx, &release, &release.created_effects(by)).await?;
        Ok(release)
    }

    /// A release of `guild`, as it is now.
    pub async fn release(&self, guild_id: GuildId, id: ReleaseId) -> Result<Release, EngineError> {
        Some(self.release_in_any_guild(id).await?).filter(|r| r.guild_id == guild_id).ok_or(EngineError::NotFound(id))
    }

    /// One page of the guild's releases that match `filter`, newest first.
    pub async fn list_releases(
        &self,
        guild_id: GuildId,
        filter: &ReleaseFilter,
        page: u32,
        per_page: u32,
    ) -> Result<ReleasePage, EngineError> {
        Ok(self.store.list_releases(guild_id, filter, page, per_page).await?)
    }

    /// A release of `guild` with its audit trail, oldest first.
    pub async fn audit_trail(&self, guild_id: GuildId, id: ReleaseId) -> Result<(Release, Vec<AuditRow>), EngineError> {
        let release = self.release(guild_id, id).await?;
        let rows = self.store.audit_of(id).await?;
        Ok((release, rows))
    }

    /// A release whatever its guild: for the operators' status API only.
    pub async fn release_in_any_guild(&self, id: ReleaseId) -> Result<Release, EngineError> {
        // A confirmed cache entry is the latest commit of the release (see `cache`).
        if let Some(release) = self.cache.get(id) {
            return Ok(release);
        }
        let mut tx = self.store.read().await?;
        Store::load_release(&mut tx, id).await?.ok_or(EngineError::NotFound(id))
    }

    #[tracing::instrument(skip(self, actor), fields(actor = %actor.user))]
    pub async fn start_release(&self, guild_id: GuildId, actor: &Actor, id: ReleaseId) -> Result<Release, EngineError> {
        self.start_release_overriding(guild_id, actor, id, None).await
    }

    /// Starts a release now; inside a freeze only with an admin's `override_reason` (audited and
    /// announced).
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.user))]
    pub async fn start_release_overriding(
        &self,
        guild_id: GuildId,
        actor: &Actor,
        id: ReleaseId,
        override_reason: Option<&str>,
    ) -> Result<Release, EngineError> {
        let access = Arc::clone(&self.access);
        // Checked again at start: a channel may have moved or gone since the release was created.
        let release = self.release(guild_id, id).await?;
        self.check_channels(guild_id, &release.process)?;
        access.may_control(actor, &release, access::Control::Start).map_err(CommandError::from)?;
        let overridden = self.freeze_check(&release, Some(actor), override_reason).await?;
        self.transition(guild_id, id, |r| {
            access.may_control(actor, r, access::Control::Start)?;
            let mut fx = r.start(actor, self.now())?;
            fx.extend(overridden);
            Ok(fx)
        })
        .await
    }

    /// Starts a release a CI trigger created. The signed request is the authority here, as it was
    /// to create the release: no chat permission is asked.
    async fn start_from_ci(&self, guild_id: GuildId, webhook_id: &str, id: ReleaseId) -> Result<Release, EngineError> {
        let release = self.release(guild_id, id).await?;
        self.check_channels(guild_id, &release.process)?;
        self.freeze_check(&release, None, None).await?;
        self.transition(guild_id, id, |r| r.start_from_ci(webhook_id, self.now())).await
    }

    /// An operator's command on a release (hold, resume, abort, retry, skip).
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.user))]
    pub async fn control(&self, guild_id: GuildId, actor: &Actor, id: ReleaseId, command: Control) -> Result<Release, EngineError> {
        let access = Arc::clone(&self.access);
        self.transition(guild_id, id, |r| {
            access.may_control(actor, r, access::Control::Operate)?;
            Self::apply_control(r, actor, &command, self.now())
        })
        .await
    }

    /// Refuses `command` exactly as applying it would (who may, and whether the release's state
    /// allows it), on a copy: nothing changes. Asked at a click, before a reason is typed.
    pub async fn may_apply(&self, guild_id: GuildId, actor: &Actor, id: ReleaseId, command: &Control) -> Result<(), EngineError> {
        let mut copy = self.release(guild_id, id).await?;
        self.access.may_control(actor, &copy, access::Control::Operate).map_err(CommandError::from)?;
        Self::apply_control(&mut copy, actor, command, self.now())?;
        Ok(())
    }

    fn apply_control(
        r: &mut Release,
        actor: &Actor,
        command: &Control,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Effect>, CommandError> {
        match command {
            Control::Hold { reason } => r.hold(actor, reason),
            Control::Resume => r.resume(actor, now),
            Control::Abort { reason } => r.abort(actor, reason),
            Control::Retry { activity } => r.retry(actor, activity, now),
            Control::Skip { activity, reason } => r.skip(actor, activity, reason, now),
        }
    }

    /// Renames a Draft and/or changes its inputs.
    #[tracing::instrument(skip(self, actor, pairs), fields(actor = %actor.user))]
    pub async fn edit_draft(
        &self,
        guild_id: GuildId,
        actor: &Actor,
        id: ReleaseId,
        name: Option<&str>,
        pairs: Option<Vec<(String, String)>>,
    ) -> Result<Release, EngineError> {
        let access = Arc::clone(&self.access);
        self.transition(guild_id, id, |r| {
            access.may_control(actor, r, access::Control::Edit)?;
            r.edit(actor, name, pairs)
        })
        .await
    }

    /// Deletes a Draft; the audit trail keeps what it was.
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.user))]
    pub async fn delete_draft(&self, guild_id: GuildId, actor: &Actor, id: ReleaseId) -> Result<Release, EngineError> {
        let mut tx = self.store.begin().await?;
        let release = Store::load_release(&mut tx, id).await?.filter(|r| r.guild_id == guild_id).ok_or(EngineError::NotFound(id))?;
        self.access.may_control(actor, &release, access::Control::Delete).map_err(CommandError::from)?;
        let effects = release.delete(actor)?;
        Store::persist_effects(&mut tx, &release, &effects).await?;
        if !Store::delete_draft(&mut tx, id).await? {
            return Err(EngineError::NotFound(id));
        }
        tx.commit().await.map_err(StoreError::from)?;
        self.cache.forget(id);
        Ok(release)
    }

    /// A manual task marked done by `actor`.
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.user))]
    pub async fn mark_done(&self, guild_id: GuildId, actor: &Actor, id: ReleaseId, activity: &str) -> Result<Release, EngineError> {
        self.transition(guild_id, id, |r| r.mark_done(actor, activity, self.now())).await
    }

    #[tracing::instrument(skip(self, actor), fields(actor = %actor.user))]
    pub async fn approve(
        &self,
        guild_id: GuildId,
        actor: &Actor,
        id: ReleaseId,
        activity: &str,
    ) -> Result<(Release, Progress), EngineError> {
        let delegations = self.deciding_as(guild_id, actor).await?;
        let mut progress = None;
        let release = self
            .audited_refusal(guild_id, actor, id, activity, |r| {
                let (p, fx) = r.approve(actor, activity, &delegations, self.now())?;
                progress = Some(p);
                Ok(fx)
            })
            .await?;
        let progress = progress.ok_or_else(|| EngineError::NotRunnable("the approval was not counted".into()))?;
        Ok((release, progress))
    }

    #[tracing::instrument(skip(self, actor), fields(actor = %actor.user))]
    pub async fn reject(
        &self,
        guild_id: GuildId,
        actor: &Actor,
        id: ReleaseId,
        activity: &str,
        comment: &str,
    ) -> Result<Release, EngineError> {
        let delegations = self.deciding_as(guild_id, actor).await?;
        self.audited_refusal(guild_id, actor, id, activity, |r| r.reject(actor, activity, comment, &delegations, self.now())).await
    }

    /// Refuses (and audits the refusal) when `actor` may not decide `activity` now; changes nothing.
    pub async fn may_decide(&self, guild_id: GuildId, actor: &Actor, id: ReleaseId, activity: &str) -> Result<(), EngineError> {
        let delegations = self.deciding_as(guild_id, actor).await?;
        self.audited_refusal(guild_id, actor, id, activity, |r| r.check_decide(actor, activity, &delegations, self.now()).map(|()| vec![]))
            .await
            .map(|_| ())
    }

    /// Like `transition`, but a refused decision is written to the audit trail before the
    /// refusal goes back to the person.
    async fn audited_refusal(
        &self,
        guild_id: GuildId,
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
        guild_id: GuildId,
        id: ReleaseId,
        command: impl FnOnce(&mut Release) -> Result<Vec<Effect>, CommandError>,
    ) -> Result<Release, EngineError> {
        let mut tx = self.store.begin().await?;
        let mut release = self.load_for_update(&mut tx, id).await?.filter(|r| r.guild_id == guild_id).ok_or(EngineError::NotFound(id))?;
        let before = release.clone();
        let mut effects = command(&mut release)?;
        self.save(&mut tx, &before, &release, &mut effects).await?;
        let saved = self.cache.pending(id);
        self.commit_confirming(tx, id, saved).await?;
        self.wake_for(&effects);
        Ok(release)
    }

    /// Saves a transition. A webhook try that completes by callback gets its unguessable token
    /// here (randomness stays out of the domain): the token goes into the request body as
    /// `callback_url` before the outbox row is written, so every delivery sends the same bytes.
    pub(crate) async fn save(&self, tx: &mut Tx, before: &Release, release: &Release, effects: &mut [Effect]) -> Result<(), EngineError> {
        for effect in effects.iter_mut() {
            if let Effect::CallWebhook(call) = effect {
                if call.completion == Completion::Callback {
                    let token = callbacks::new_token();
                    Store::insert_callback_token(tx, &token, release.id, &call.activity, call.attempt).await?;
                    call.payload["callback_url"] = json!(format!("{}/hooks/activities/{token}", self.callback_base));
                }
            }
        }
        // Before the notices, so a release's first card (and its thread) is posted before them.
        let visible_change = before.status != release.status || before.phases != release.phases;
        // A planned release has no card yet: its advance notice announces it, its card comes at its start.
        let has_card = !matches!(release.status, ReleaseStatus::Draft | ReleaseStatus::NotStarted);
        if before.status != release.status {
            Store::enqueue_board_redraw(tx, release.guild_id).await?;
        }
        if let Some(channel) = release.process.notices_channel.filter(|_| has_card && visible_change) {
            Store::enqueue_card_redraw(tx, CardRedraw { release_id: release.id, channel_id: channel }).await?;
        }
        // One line for "phase done, next started" when a step does both (decided in the domain).
        let merged = crate::domain::release::merge_phase_notices(effects.to_vec());
        Store::save_release(tx, before, release, &merged).await?;
        if release.status.is_finished() && !before.status.is_finished() {
            self.record_deliveries(tx, release).await?;
        }
        // Pending until this transaction's commit is confirmed (see `cache`).
        self.cache.put_pending(release);
        for effect in effects.iter() {
            if let Effect::StartChild(child) = effect {
                self.start_child(tx, release, child).await?;
            }
        }
        // What the change asks of other releases is decided in the domain; carried out here.
        let spanning = release.spanning_effects(before);
        let other_releases = effects.iter().any(|e| matches!(e, Effect::StartChild(_)))
            || spanning.iter().any(|s| matches!(s, Spanning::FinishParent(_) | Spanning::AbortChild { .. }));
        if other_releases {
            // Their new work is saved in this transaction: every idle worker looks. Woken before
            // the commit, a worker's claim waits for this transaction to let go of the writer,
            // so it sees the work.
            self.webhook_wake.notify_waiters();
            self.chat_wake.notify_one();
        }
        for spanning in spanning {
            match spanning {
                Spanning::FinishParent(link) => self.finish_parent(tx, release, &link).await?,
                Spanning::AbortChild { activity, attempt, reason } => {
                    if let Some(child) = Store::child_of(tx, release.id, &activity, attempt).await? {
                        self.abort_child(tx, child, reason).await?;
                    }
                }
                Spanning::PublishAuditHead => {
                    // The audit channel serves the server it is in: other servers' releases are
                    // not announced there (their rows are in the chain, and in its daily head).
                    let channel = self.audit_channel.filter(|c| self.guild_of_channel(*c).is_none_or(|g| g == release.guild_id));
                    // Read after this transition's own rows: the head covers the release's last entry.
                    if let Some(channel) = channel {
                        if let Some((row, hash)) = Store::audit_head(tx).await? {
                            enqueue_chat_to(tx, release, channel, &Notice::AuditHead { row, hash }).await?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Applies one look of a `check` activity, fenced like a webhook result.
    pub async fn record_poll_result(
        &self,
        item: &OutboxItem,
        poll: &Poll,
        answer: Result<Look, String>,
    ) -> Result<Option<OutboxItem>, EngineError> {
        let stale = json!({"activity": poll.activity, "attempt": poll.attempt, "look": poll.poll});
        self.apply_delivered(item, stale, |release| release.poll_result(poll, answer, self.now())).await
    }

    /// Completes a delivered outbox row and applies what came back, in one transaction. A row
    /// re-claimed by another worker changes nothing; a result the release refuses as stale is
    /// audited (`stale`, plus why) and changes nothing. The same commit claims the worker's next
    /// webhook task, which it returns: one transaction per task instead of two.
    async fn apply_delivered(
        &self,
        item: &OutboxItem,
        stale: serde_json::Value,
        apply: impl FnOnce(&mut Release) -> Result<Vec<Effect>, CommandError>,
    ) -> Result<Option<OutboxItem>, EngineError> {
        if item.release_id.is_none() {
            return Ok(None);
        }
        let mut tx = self.store.begin().await?;
        if !Store::complete_outbox(&mut tx, item).await? {
            tracing::warn!(key = %item.key, "delivery was re-claimed by another worker; its result is dropped");
            return Ok(None);
        }
        let Some((id, saved, effects)) = self.apply_in(&mut tx, item, stale, apply).await? else { return Ok(None) };
        self.commit_claiming_next(tx, id, saved, &effects).await
    }

    /// `apply_delivered` inside `tx`, its row completed already: `None` when the row has no
    /// release (nothing written); else the release, its save to confirm after the commit, and the
    /// effects.
    pub(super) async fn apply_in(
        &self,
        tx: &mut Tx,
        item: &OutboxItem,
        mut stale: serde_json::Value,
        apply: impl FnOnce(&mut Release) -> Result<Vec<Effect>, CommandError>,
    ) -> Result<Option<(ReleaseId, Option<cache::Saved>, Vec<Effect>)>, EngineError> {
        let Some(id) = item.release_id else { return Ok(None) };
        let (mut effects, mut saved) = (vec![], None);
        if let Some(mut release) = self.load_for_update(tx, id).await? {
            let before = release.clone();
            match apply(&mut release) {
                Ok(applied) => {
                    effects = applied;
                    self.save(tx, &before, &release, &mut effects).await?;
                    saved = self.cache.pending(id);
                }
                Err(e @ CommandError::Stale { .. }) => {
                    stale["why_ignored"] = json!(e.to_string());
                    Store::append_audit(tx, Some(id), &AuditActor::System, "stale_result_ignored", &stale).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Some((id, saved, effects)))
    }

    /// The release as it stands, inside a write transaction: from the cache when its last commit
    /// was confirmed there, else from the database.
    async fn load_for_update(&self, tx: &mut Tx, id: ReleaseId) -> Result<Option<Release>, StoreError> {
        match self.cache.get(id) {
            Some(release) => Ok(Some(release)),
            None => Store::load_release(tx, id).await,
        }
    }

    /// Claims the next due webhook task in `tx`, commits, confirms the release's save this
    /// transaction made (`saved`) in the cache, or drops it when the commit failed, and wakes
    /// whoever the effects concern.
    async fn commit_claiming_next(
        &self,
        mut tx: Tx,
        id: ReleaseId,
        saved: Option<cache::Saved>,
        effects: &[Effect],
    ) -> Result<Option<OutboxItem>, EngineError> {
        let next = Store::claim_in(&mut tx, Topic::Webhook, WEBHOOK_LEASE).await?;
        self.commit_confirming(tx, id, saved).await?;
        self.wake_for(effects);
        Ok(next)
    }

    /// Commits, then confirms release `id`'s save this transaction made (`saved`) in the cache;
    /// a failed commit drops the release from the cache instead.
    async fn commit_confirming(&self, tx: Tx, id: ReleaseId, saved: Option<cache::Saved>) -> Result<(), EngineError> {
        if let Err(e) = tx.commit().await {
            self.cache.forget(id);
            return Err(StoreError::from(e).into());
        }
        if let Some(saved) = saved {
            self.cache.confirm(saved);
        }
        Ok(())
    }

    /// A timer came due (a wait's time lock, or a callback deadline): `Release::timer_fired`
    /// decides; a timer whose try already ended just completes.
    pub async fn fire_timer(&self, item: &OutboxItem, deadline: &Timer) -> Result<Option<OutboxItem>, EngineError> {
        let Some(id) = item.release_id else { return Ok(None) };
        let mut tx = self.store.begin().await?;
        if !Store::complete_outbox(&mut tx, item).await? {
            return Ok(None);
        }
        let mut release = self.load_for_update(&mut tx, id).await?.ok_or(EngineError::NotFound(id))?;
        let before = release.clone();
        let (effects, saved) = match release.timer_fired(deadline, self.now()) {
            Some(mut effects) => {
                self.save(&mut tx, &before, &release, &mut effects).await?;
                (effects, self.cache.pending(id))
            }
            None => (vec![], None),
        };
        self.commit_claiming_next(tx, id, saved, &effects).await
    }

    /// Writes one system row to the audit trail.
    pub async fn record(&self, release: Option<ReleaseId>, action: &str, detail: &serde_json::Value) -> Result<(), EngineError> {
        let mut tx = self.store.begin().await?;
        Store::append_audit(&mut tx, release, &AuditActor::System, action, detail).await?;
        tx.commit().await.map_err(StoreError::from)?;
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
    pub async fn claim_chat(&self, next: &NextTask) -> Result<Option<OutboxItem>, StoreError> {
        next.take_or_claim(&self.store, Topic::Chat, CHAT_LEASE).await
    }

    /// Marks a chat message posted (recording the card, when it was a card redraw) and claims
    /// the next one, in one commit.
    pub async fn chat_delivered(&self, item: &OutboxItem, card: Option<&DrawnCard>) -> Result<Option<OutboxItem>, StoreError> {
        let mut tx = self.store.begin().await?;
        Store::complete_outbox(&mut tx, item).await?;
        if let Some(card) = card {
            Store::card_drawn(&mut tx, card).await?;
        }
        let next = Store::claim_in(&mut tx, Topic::Chat, CHAT_LEASE).await?;
        tx.commit().await?;
        Ok(next)
    }

    /// Asks for release `id`'s card in `channel` to be drawn again (coalesced with any redraw
    /// already waiting): for notices waiting on a card whose post was refused.
    pub async fn redraw_card(&self, id: ReleaseId, channel: ChannelId) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        Store::enqueue_card_redraw(&mut tx, CardRedraw { release_id: id, channel_id: channel }).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Puts a chat message back to be tried again after `delay`.
    pub async fn chat_failed(&self, item: &OutboxItem, delay: Duration, error: &str) -> Result<(), StoreError> {
        self.store.retry_outbox(item, delay, error).await
    }
}
