//! The application: store, engine, workers, the HTTP server and the Discord client, built from
//! configuration and run until told to stop.

use crate::discord::{self, BotConfig, Notifier};
use crate::domain::access::AccessPolicy;
use crate::domain::process_file;
use crate::engine::{checkpoint_until_stopped, daily_audit_head_until_stopped, publish_todays_audit_head, Engine, Shutdown, WebhookWorker};
use crate::http::{self, HttpState};
use crate::store::{InstanceLock, Store};
use crate::webhook::guard::{AddressPolicy, AllowRule};
use crate::webhook::signing::Secret;
use crate::webhook::WebhookClient;
use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Webhook tries, timers and check looks handled at once. Claims are atomic, so workers never
/// share a row. 32: results that arrive together are recorded in one transaction (see
/// `engine::group_commit`), so more calls out means fuller batches (bench engine: 8 workers
/// 7.4-8.0 s, 16 about 6.9 s, 32 about 6 s, 64 starved the creators at the writer); and a slow
/// receiver holds a worker for up to its activity's `timeout`, so a few such tries cannot stall
/// every other release. An idle worker costs a sleeping task.
pub const WEBHOOK_WORKERS: usize = 32;

/// `shutdown_grace` when not configured: longer than most webhook tries, shorter than the 30 s
/// systemd, Docker and Kubernetes wait before they follow SIGTERM with SIGKILL.
pub const DEFAULT_SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

#[derive(Debug, Clone)]
pub struct Settings {
    pub bot: BotConfig,
    pub database: PathBuf,
    pub processes: PathBuf,
    /// Where the HTTP server listens; port 0 picks a free one (see `Application::http_addr`).
    pub http: SocketAddr,
    /// Base URL the outside world reaches the HTTP server at; `None` means `http://<http addr>`.
    pub public_url: Option<String>,
    pub trigger_secret: Option<Secret>,
    pub api_token: Option<String>,
    pub webhook_allow: Vec<AllowRule>,
    /// The proxy webhooks go through, when one is needed; proxy variables in the environment
    /// are ignored (see `WebhookClient::new`).
    pub webhook_proxy: Option<String>,
    /// Where the audit chain's head is posted at each release's end and once a day.
    pub audit_channel: Option<crate::domain::ChannelId>,
    /// Admins and per-guild roles (trainmaster.toml).
    pub access: AccessPolicy,
    /// How long webhook calls in flight may take to finish once asked to stop (SIGTERM, SIGINT)
    /// before they are cut off; their results are recorded, so a restart does not send them again.
    pub shutdown_grace: std::time::Duration,
    /// The per-address rate limit on `/hooks/*`.
    pub hooks_limit: http::HooksLimit,
    /// The servers CI may trigger releases in; `None`: every server the bot is in.
    pub trigger_guilds: Option<Vec<crate::domain::GuildId>>,
    /// Status API tokens that see one server's releases only (`[guilds.<id>] api_token`).
    pub guild_api_tokens: Vec<(crate::domain::GuildId, String)>,
    /// Each server's notices channel for processes that name none.
    pub guild_notices: Vec<(crate::domain::GuildId, crate::domain::ChannelId)>,
    /// Run `PRAGMA quick_check` before serving (`serve --skip-integrity-check` turns it off).
    pub integrity_check: bool,
    /// Where every stored and scheduled time comes from: the system clock, or a clock the tests
    /// and the demo move.
    pub clock: crate::domain::SharedClock,
    /// Each server's time zone and declared freezes (`[guilds.<id>]` in trainmaster.toml).
    pub guild_settings: Vec<(crate::domain::GuildId, GuildSettings)>,
}

/// What trainmaster.toml says about planning in one server.
#[derive(Debug, Clone, Default)]
pub struct GuildSettings {
    pub time_zone: chrono_tz::Tz,
    pub freezes: Vec<crate::domain::planning::Freeze>,
    /// How long ended releases stay before they are archived (`None`: 365 days).
    pub retention: Option<chrono::Duration>,
    /// Where and when the weekly digest is posted: a channel and a 5-field cron in the server's zone.
    pub digest: Option<(crate::domain::ChannelId, String)>,
}

impl Settings {
    /// Settings for a bot on `database` with its processes in `processes`, talking to Discord or
    /// the sandbox at `api_base`, with the HTTP server on a free loopback port.
    pub fn local(token: &str, api_base: Option<String>, database: PathBuf, processes: PathBuf) -> Self {
        Self {
            bot: BotConfig { token: token.into(), api_base, help_url: None },
            database,
            processes,
            http: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            trigger_secret: None,
            api_token: None,
            webhook_allow: vec![],
            webhook_proxy: None,
            audit_channel: None,
            access: AccessPolicy::default(),
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            hooks_limit: http::HooksLimit::default(),
            trigger_guilds: None,
            guild_api_tokens: vec![],
            guild_notices: vec![],
            integrity_check: true,
            clock: crate::domain::clock::system(),
            guild_settings: vec![],
        }
    }
}

/// What to do when the processes directory is not there (a fresh directory, a typo).
pub fn no_processes(path: &std::path::Path) -> String {
    format!(
        "there are no process files at {}: run `trainmaster init` to create a configuration and an example process here, or point TRAINMASTER_PROCESSES (or `processes` in trainmaster.toml) at your process files",
        path.display()
    )
}

pub struct Application {
    engine: Engine,
    client: poise::serenity_prelude::Client,
    listener: tokio::net::TcpListener,
    http_state: HttpState,
    webhook_policy: AddressPolicy,
    webhook_proxy: Option<String>,
    shutdown_grace: std::time::Duration,
    /// Held while the application lives: one instance per database.
    _lock: InstanceLock,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        // First: a second instance must not touch the database (it would free the first's leases),
        // and its operator should hear about the first before any other complaint.
        let lock = InstanceLock::acquire(&settings.database)?;
        if !settings.processes.exists() {
            anyhow::bail!("{}", no_processes(&settings.processes));
        }
        let catalog = process_file::load_dir(&settings.processes).map_err(|diagnostics| {
            let all = diagnostics.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n");
            anyhow::anyhow!("the process files have errors:\n{all}")
        })?;
        tracing::info!(processes = catalog.len(), dir = %settings.processes.display(), "processes loaded");
        let listener = tokio::net::TcpListener::bind(settings.http).await.with_context(|| format!("cannot listen on {}", settings.http))?;
        let http_addr = listener.local_addr()?;
        let public_url = settings.public_url.clone().unwrap_or_else(|| format!("http://{http_addr}"));
        let store = Store::open(&settings.database).await?.with_clock(settings.clock.clone());
        if settings.integrity_check {
            let started = std::time::Instant::now();
            store.integrity_check().await.map_err(|problems| {
                let db = settings.database.display();
                anyhow::anyhow!(
                    "the database {db} is damaged ({problems}); not serving it. Restore the latest backup (made with `trainmaster backup PATH`): stop every instance, copy the backup over {db}, remove {db}-wal and {db}-shm, and start again. `serve --skip-integrity-check` serves it anyway, at your own risk."
                )
            })?;
            tracing::info!(took = ?started.elapsed(), "database integrity checked");
        }
        let resumed = store.release_stale_leases().await?;
        if resumed > 0 {
            tracing::warn!(deliveries = resumed, "resuming deliveries a previous run left unfinished");
        }
        let engine = Engine::new(store, catalog, &public_url)
            .with_audit_channel(settings.audit_channel)
            .with_access(settings.access.clone())
            .with_trigger_guilds(settings.trigger_guilds.clone())
            .with_default_notices(settings.guild_notices.iter().copied())
            .with_guild_settings(settings.guild_settings.iter().cloned());
        let gateway_connected = Arc::new(AtomicBool::new(false));
        let client = discord::build_client(&settings.bot, engine.clone(), gateway_connected.clone())
            .await
            .context("cannot build the Discord client")?;
        let http_state = HttpState {
            engine: engine.clone(),
            trigger_secret: settings.trigger_secret.clone(),
            api_token: settings.api_token.clone(),
            public_url,
            gateway: Arc::new(discord::ShardsGateway { shards: client.shard_manager.clone(), set_up: gateway_connected }),
            hooks_limit: settings.hooks_limit,
            guild_api_tokens: settings.guild_api_tokens.clone(),
        };
        let webhook_policy = AddressPolicy::new(settings.webhook_allow.clone());
        // Built here only to refuse a bad proxy before anything runs.
        WebhookClient::new(webhook_policy.clone(), settings.webhook_proxy.as_deref())?;
        Ok(Self {
            engine,
            client,
            listener,
            http_state,
            webhook_policy,
            webhook_proxy: settings.webhook_proxy.clone(),
            shutdown_grace: settings.shutdown_grace,
            _lock: lock,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The address the HTTP server listens on.
    pub fn http_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Runs the bot, the HTTP server and the workers until `shutdown` fires or the gateway
    /// connection ends.
    pub async fn run_until_stopped(mut self, mut shutdown: Shutdown) -> anyhow::Result<()> {
        let client = WebhookClient::new(self.webhook_policy.clone(), self.webhook_proxy.as_deref())?;
        let webhook_workers: Vec<_> = (0..WEBHOOK_WORKERS)
            .map(|_| tokio::spawn(WebhookWorker::new(self.engine.clone(), client.clone()).run_until_stopped(shutdown.clone())))
            .collect();
        let notifier = Notifier::new(self.engine.clone(), self.client.http.clone(), self.client.cache.clone());
        let mut http_shutdown = shutdown.clone();
        let routes = http::router(self.http_state).into_make_service_with_connect_info::<SocketAddr>();
        let server = axum::serve(self.listener, routes).with_graceful_shutdown(async move { http_shutdown.stopped().await });
        // Before connecting, so a bot that is up has checked today's audit head and planned its
        // release groups (the planner loop below keeps them planned).
        publish_todays_audit_head(&self.engine).await;
        if let Err(e) = self.engine.plan_groups().await {
            tracing::warn!(error = %e, "cannot plan release groups now; the planner tries again in a minute");
        }
        if let Err(e) = self.engine.archive_ended().await {
            tracing::warn!(error = %e, "cannot archive ended releases now; the next run tries again");
        }
        let workers = [
            tokio::spawn(notifier.run_until_stopped(shutdown.clone())),
            tokio::spawn(checkpoint_until_stopped(self.engine.store().clone(), shutdown.clone())),
            tokio::spawn(daily_audit_head_until_stopped(self.engine.clone(), shutdown.clone())),
            tokio::spawn(crate::engine::plan_groups_until_stopped(self.engine.clone(), shutdown.clone())),
            tokio::spawn(crate::engine::archive_until_stopped(self.engine.clone(), shutdown.clone())),
            tokio::spawn(async move {
                if let Err(e) = server.await {
                    tracing::error!(error = %e, "the HTTP server stopped");
                }
            }),
        ];
        let shards = self.client.shard_manager.clone();
        let result = tokio::select! {
            r = self.client.start() => r.context("the Discord connection ended"),
            _ = shutdown.stopped() => Ok(()),
        };
        // Every loop sees the same shutdown and claims nothing more. Webhook calls in flight
        // get `shutdown_grace` to finish and be recorded (else a restart would send them again);
        // the notifier and the rest finish what they hold meanwhile. Then the gateway closes.
        tracing::info!(grace = ?self.shutdown_grace, "stopping: letting webhook calls in flight finish");
        let deadline = tokio::time::Instant::now() + self.shutdown_grace;
        let mut cut_off = 0;
        for worker in webhook_workers.into_iter().chain(workers) {
            let abort = worker.abort_handle();
            if tokio::time::timeout_at(deadline, worker).await.is_err() {
                abort.abort();
                cut_off += 1;
            }
        }
        if cut_off > 0 {
            // Their rows stay claimed; the next start frees them and sends them again, same key.
            tracing::warn!(cut_off, "the grace ran out; unfinished calls will be sent again after a restart");
        }
        shards.shutdown_all().await;
        result
    }
}
