//! A bot wired to a sandbox Discord, a local webhook receiver and a real SQLite file.

use super::contract;
use anyhow::{anyhow, Context};
use tokio::sync::watch;
use trainmaster::app::{Application, Settings};
use trainmaster::domain::access::AccessPolicy;
use trainmaster::engine::Shutdown;
use trainmaster::sandbox::receiver::WebhookReceiver;
use trainmaster::sandbox::{roles, Reply, Sandbox, SandboxUser, StoredMessage, CHANNEL_ID, TOKEN};
use trainmaster::store::{AuditRow, Store};
use trainmaster::webhook::signing::Secret;

pub type TestResult = anyhow::Result<()>;

pub fn alice() -> SandboxUser {
    SandboxUser::new(10, "alice", &[roles::RELEASE_MANAGERS])
}
pub fn bob() -> SandboxUser {
    SandboxUser::new(11, "bob", &[roles::QA])
}
/// Named as an approver by user id, not by role.
pub fn carol() -> SandboxUser {
    SandboxUser::new(77, "carol", &[roles::DEVELOPERS])
}
pub fn dave() -> SandboxUser {
    SandboxUser::new(12, "dave", &[roles::DEVELOPERS])
}

/// The CI trigger secret and status API token the harness configures.
pub const TRIGGER_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const API_TOKEN: &str = "test-api-token";

pub const VALID_INPUTS: &str = r#"version=1.4.0 services=api,web notes="Fixes checkout""#;

/// The process the tests release: a webhook with one retry, a two-person approval, a webhook.
pub fn shop_process(receiver: &WebhookReceiver) -> String {
    format!(
        r#"name: shop
description: Storefront release used by the tests
inputs:
  version:     {{ type: string, required: true, pattern: '\d+\.\d+\.\d+', description: "like 1.4.0" }}
  services:    {{ type: list, required: true }}
  environment: {{ type: choice, options: [staging, prod], default: prod }}
  notes:       {{ type: text }}
notices: {{ channel: "{CHANNEL_ID}" }}
phases:
  - id: build
    activities:
      - id: branch-cut
        webhook:
          url: "{}"
          body: {{ version: "{{{{ inputs.version }}}}", services: "{{{{ inputs.services | join(',') }}}}", release: "{{{{ release.name }}}}" }}
        timeout: 1s
        retry: {{ attempts: 2, backoff: 1s }}
  - id: qa
    activities:
      - id: qa-approval
        approval: {{ approvers: ["role:QA", "user:77"], min: 2 }}
  - id: prod
    activities:
      - id: deploy
        webhook: {{ url: "{}", body: {{ target: "{{{{ inputs.environment }}}}" }} }}
"#,
        receiver.url("/ci/branch-cut"),
        receiver.url("/cd/deploy")
    )
}

struct RunningBot {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// The running bot's own store (its writer connection), for fault injection.
    store: Store,
    engine: trainmaster::engine::Engine,
}

pub struct Harness {
    pub sandbox: Sandbox,
    pub receiver: WebhookReceiver,
    dir: tempfile::TempDir,
    bot: Option<RunningBot>,
    connections: u32,
    http_addr: Option<std::net::SocketAddr>,
    access: AccessPolicy,
    /// Changes to the bot's settings beyond the harness's own.
    tweak: Option<Tweak>,
}

/// When a test ends: everything its bot said is scanned for internal words and broken limits
/// (`readability`), and with `TRAINMASTER_CHAT_DUMP=<dir>` the channels are written there as
/// `<test>.json`, for `cargo xtask chat-html` to draw.
impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(dir) = std::env::var_os("TRAINMASTER_CHAT_DUMP") {
            let test = std::thread::current().name().unwrap_or("test").replace("::", "-");
            let path = std::path::Path::new(&dir).join(format!("{test}.json"));
            let written = serde_json::to_vec_pretty(&self.sandbox.transcript()).map_err(anyhow::Error::from).and_then(|bytes| {
                std::fs::create_dir_all(&dir)?;
                Ok(std::fs::write(&path, bytes)?)
            });
            if let Err(e) = written {
                eprintln!("cannot write the chat dump {}: {e}", path.display());
            }
        }
        if std::thread::panicking() {
            return;
        }
        let problems = super::readability::problems(&self.sandbox.said());
        assert!(problems.is_empty(), "the bot said things people should not read:\n{}", problems.join("\n"));
    }
}

/// A change to the bot's settings, applied at every start.
pub type Tweak = std::sync::Arc<dyn Fn(&mut Settings) + Send + Sync>;

impl Harness {
    /// Sandbox, receiver and a bot running the `shop` process.
    pub async fn start() -> anyhow::Result<Self> {
        let receiver = WebhookReceiver::start().await?;
        let process = shop_process(&receiver);
        Self::start_with(receiver, &process).await
    }

    pub async fn start_with(receiver: WebhookReceiver, process: &str) -> anyhow::Result<Self> {
        Self::start_with_files(receiver, &[("shop.yaml", process)]).await
    }

    /// A bot whose processes directory holds `files` (name, text).
    pub async fn start_with_files(receiver: WebhookReceiver, files: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::start_with_access(receiver, files, AccessPolicy::default()).await
    }

    /// A bot whose processes directory holds `files`, with admins and roles per guild.
    pub async fn start_with_access(receiver: WebhookReceiver, files: &[(&str, &str)], access: AccessPolicy) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join("processes"))?;
        for (name, text) in files {
            std::fs::write(dir.path().join("processes").join(name), text)?;
        }
        let mut harness =
            Self { sandbox: Sandbox::start().await?, receiver, dir, bot: None, connections: 0, http_addr: None, access, tweak: None };
        harness.start_bot().await?;
        Ok(harness)
    }

    /// A bot whose processes directory holds `files`, with `tweak` applied to its settings.
    pub async fn start_tweaked(files: &[(&str, &str)], tweak: impl Fn(&mut Settings) + Send + Sync + 'static) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join("processes"))?;
        for (name, text) in files {
            std::fs::write(dir.path().join("processes").join(name), text)?;
        }
        let mut harness = Self {
            sandbox: Sandbox::start().await?,
            receiver: WebhookReceiver::start().await?,
            dir,
            bot: None,
            connections: 0,
            http_addr: None,
            access: AccessPolicy::default(),
            tweak: Some(std::sync::Arc::new(tweak)),
        };
        harness.start_bot().await?;
        Ok(harness)
    }

    fn settings(&self) -> anyhow::Result<Settings> {
        let mut settings = Settings::local(
            TOKEN,
            Some(self.sandbox.base_url()),
            self.dir.path().join("trainmaster.db"),
            self.dir.path().join("processes"),
        );
        // The receiver runs on loopback, which the SSRF guard refuses unless allowed.
        settings.webhook_allow = vec!["127.0.0.1".parse().map_err(|e: String| anyhow!(e))?];
        settings.trigger_secret = Some(Secret::parse(TRIGGER_SECRET)?);
        settings.api_token = Some(API_TOKEN.into());
        settings.audit_channel = Some(trainmaster::domain::ChannelId(CHANNEL_ID));
        settings.access = self.access.clone();
        // Tests stop bots with calls still hanging on purpose; they need not wait the 20 s default
        // (tests/it/operations.rs runs the real binary with it).
        settings.shutdown_grace = std::time::Duration::from_secs(2);
        if let Some(tweak) = &self.tweak {
            tweak(&mut settings);
        }
        Ok(settings)
    }

    /// The bot's HTTP server, like `http://127.0.0.1:PORT`.
    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http_addr.map(|a| a.to_string()).unwrap_or_default())
    }

    /// Starts a bot on the harness's database and waits until it is connected.
    pub async fn start_bot(&mut self) -> TestResult {
        let app = Application::build(&self.settings()?).await?;
        self.http_addr = Some(app.http_addr()?);
        let (stop, shutdown) = Shutdown::new();
        let store = app.engine().store().clone();
        let engine = app.engine().clone();
        let task = tokio::spawn(app.run_until_stopped(shutdown));
        self.bot = Some(RunningBot { stop, task, store, engine });
        self.connections += 1;
        self.sandbox.wait_ready(self.connections).await
    }

    /// Stops the bot and waits for it to end.
    pub async fn stop_bot(&mut self) -> TestResult {
        if let Some(bot) = self.bot.take() {
            let _ = bot.stop.send(true);
            bot.task.await.context("bot task panicked")??;
        }
        Ok(())
    }

    pub async fn slash(&self, user: &SandboxUser, subcommand: &str, options: &[(&str, &str)]) -> anyhow::Result<Reply> {
        self.sandbox.slash(user, "release", subcommand, options).await
    }

    /// `/release create` of `shop` as alice; returns the new release's id.
    pub async fn create(&self, inputs: &str) -> anyhow::Result<String> {
        let reply = self.slash(&alice(), "create", &[("process", "shop"), ("name", "Week 47"), ("inputs", inputs)]).await?;
        reply.release_id().ok_or_else(|| anyhow!("no release card in the reply: {}", reply.text()))
    }

    /// `/release create` of `process` as alice, as a Draft; returns the new release's id.
    pub async fn create_with(&self, process: &str, name: &str, inputs: &str) -> anyhow::Result<String> {
        let reply = self.slash(&alice(), "create", &[("process", process), ("name", name), ("inputs", inputs)]).await?;
        reply.release_id().ok_or_else(|| anyhow!("no release card in the reply: {}", reply.text()))
    }

    /// Creates and starts a release as alice and waits for its approval request.
    pub async fn start_until_approval(&self) -> anyhow::Result<(String, StoredMessage)> {
        let id = self.create(VALID_INPUTS).await?;
        self.slash(&alice(), "start", &[("release", &id)]).await?;
        let approval = self.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `qa-approval` needed").await?;
        Ok((id, approval))
    }

    /// Tells the running bot's workers and planner to look again: after its clock moved.
    pub fn wake_bot(&self) {
        if let Some(bot) = &self.bot {
            bot.engine.wake_workers();
        }
    }

    /// The running bot's store itself (not a second connection to its file).
    pub fn bot_store(&self) -> anyhow::Result<Store> {
        self.bot.as_ref().map(|b| b.store.clone()).ok_or_else(|| anyhow!("the bot is not running"))
    }

    pub async fn store(&self) -> anyhow::Result<Store> {
        Store::open(&self.database()).await
    }

    /// The idempotency key receivers see for the run of `activity` of release `id` that began
    /// with try `run`: `<installation>/<release>/<activity>/run-<n>`.
    pub async fn key(&self, id: &str, activity: &str, run: u32) -> anyhow::Result<String> {
        Ok(format!("{}/{id}/{activity}/run-{run}", self.store().await?.installation()))
    }

    /// The bot's SQLite file.
    pub fn database(&self) -> std::path::PathBuf {
        self.dir.path().join("trainmaster.db")
    }

    pub async fn audit(&self, id: &str) -> anyhow::Result<Vec<AuditRow>> {
        let store = self.store().await?;
        Ok(store.audit_of(id.parse().map_err(|e: String| anyhow!(e))?).await?)
    }

    pub async fn count_releases(&self) -> anyhow::Result<i64> {
        let store = self.store().await?;
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM releases").fetch_one(store.pool()).await?)
    }

    /// Makes the timers of the open tries whose outbox key ends with `suffix` (like `/remind-1`)
    /// due now, as if that much time had passed: the bot must be stopped, and the next start
    /// finds them due.
    pub async fn make_due(&self, suffix: &str) -> anyhow::Result<u64> {
        let store = self.store().await?;
        let mut tx = store.begin().await?;
        let done = sqlx::query("UPDATE outbox SET available_at = 0 WHERE key LIKE '%' || ? AND done_at IS NULL")
            .bind(suffix)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Stops the bot and checks every REST request it made against Discord's API description.
    pub async fn finish(mut self) -> TestResult {
        self.stop_bot().await?;
        contract::check_requests(&self.sandbox.requests())
    }
}

/// The actions of an audit trail, in order.
pub fn actions(rows: &[AuditRow]) -> Vec<String> {
    rows.iter().map(|r| r.action.clone()).collect()
}

/// Standard Webhooks signing written out in the test, independent of the bot's implementation:
/// `v1,` + base64(HMAC-SHA256(base64-decoded secret, "id.timestamp.body")).
pub fn independent_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    use base64::Engine as _;
    use hmac::Mac;
    let key = base64::engine::general_purpose::STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap_or_default();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// A file holding `TRIGGER_SECRET`, for processes that sign with `secret: file:PATH`.
pub fn secret_file() -> anyhow::Result<(tempfile::TempDir, String)> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ci.secret");
    std::fs::write(&path, TRIGGER_SECRET)?;
    Ok((dir, path.display().to_string()))
}

/// The `shop` process with `branch-cut` signed by `secret_path` and completed by a callback
/// that must come within `timeout`.
pub fn callback_process(receiver: &WebhookReceiver, secret_path: &str, timeout: &str) -> String {
    shop_process(receiver).replace("timeout: 1s", &format!("timeout: {timeout}")).replacen(
        "          url: \"",
        &format!("          secret: \"file:{secret_path}\"\n          completion: callback\n          url: \""),
        1,
    )
}

/// A `shop` bot whose `branch-cut` completes by signed callback (within 5 min), with a release
/// started and its first try accepted: the harness, the secret's directory (keep it alive), the
/// release id and the callback URL the receiver was given.
pub async fn started_callback_release() -> anyhow::Result<(Harness, tempfile::TempDir, String, String)> {
    let (secret_dir, secret_path) = secret_file()?;
    let receiver = WebhookReceiver::start().await?;
    let process = callback_process(&receiver, &secret_path, "5m");
    let h = Harness::start_with(receiver, &process).await?;
    let id = h.create(VALID_INPUTS).await?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    let call = h.receiver.wait_for_calls(1).await?.remove(0);
    let callback_url = call.body["callback_url"].as_str().unwrap_or_default().to_string();
    // The receiver's 202 is recorded after it answers; wait for it so callbacks meet an accepted
    // call (a callback that overtakes the 202 is valid too, but not what these tests are about).
    h.wait_for_audit(&id, "webhook_accepted").await?;
    Ok((h, secret_dir, id, callback_url))
}

/// Sends `body` to the bot's HTTP server, signed with `secret` as `id` at `timestamp`.
pub async fn post_signed(url: &str, secret: &str, id: &str, timestamp: i64, body: &[u8]) -> anyhow::Result<(u16, serde_json::Value)> {
    let response = reqwest::Client::new()
        .post(url)
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", independent_signature(secret, id, timestamp, body))
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(serde_json::Value::Null)))
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Harness {
    /// Waits (bounded) until the audit trail of `id` has a row with `action`. The trail is in
    /// SQLite, which has no change feed, so this re-reads it until the row appears.
    pub async fn wait_for_audit(&self, id: &str, action: &str) -> anyhow::Result<AuditRow> {
        let deadline = tokio::time::Instant::now() + trainmaster::sandbox::WAIT;
        loop {
            if let Some(row) = self.audit(id).await?.into_iter().find(|r| r.action == action) {
                return Ok(row);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(anyhow!("no {action} in the audit trail of release {id}"));
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
