//! `trainmaster bench engine|interactions|startup|soak`: benchmarks as programs that print figures
//! against the budgets in docs/architecture.md (1,000 releases × 10 webhook activities in ≤ 15 s
//! and ≤ 250 MB RSS; interactions acknowledged with p99 ≤ 20 ms at 100/s). Run them on a release
//! build.

use crate::app::{Application, Settings};
use crate::domain::principal::Actor;
use crate::domain::release::ReleaseStatus;
use crate::domain::UserId;
use crate::engine::{NewRelease, Shutdown};
use crate::sandbox::receiver::WebhookReceiver;
use crate::sandbox::{roles, Sandbox, SandboxUser, CHANNEL_ID, TOKEN};
use crate::webhook::guard::AllowRule;
use anyhow::{anyhow, Context};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Peak resident set size of this process, from /proc (Linux).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn process_with_webhooks(receiver: &WebhookReceiver, activities: usize) -> String {
    let mut text = format!("name: bench\nnotices: {{ channel: \"{CHANNEL_ID}\" }}\nphases:\n  - id: work\n    activities:\n");
    for i in 0..activities {
        let _ = writeln!(text, "      - id: step-{i}\n        webhook: {{ url: \"{}\", body: {{ n: \"{i}\" }} }}", receiver.url("/hook"));
    }
    text
}

async fn app_on(dir: &std::path::Path, process: &str, sandbox: &Sandbox) -> anyhow::Result<Application> {
    let processes = dir.join("processes");
    std::fs::create_dir_all(&processes)?;
    std::fs::write(processes.join("bench.yaml"), process)?;
    let mut settings = Settings::local(TOKEN, Some(sandbox.base_url()), dir.join("bench.db"), processes);
    settings.webhook_allow = vec![AllowRule::Net("127.0.0.1/32".parse()?)];
    Application::build(&settings).await
}

/// A release of the `bench` process in the sandbox's server.
fn bench_release(name: impl Into<String>) -> NewRelease {
    NewRelease {
        guild_id: crate::domain::GuildId(crate::sandbox::GUILD_ID),
        process: "bench".into(),
        name: name.into(),
        inputs: vec![],
        input_set: None,
        channel: None,
    }
}

/// How many creators start releases concurrently in `bench engine`.
const CREATORS: usize = 8;

/// Runs `releases` releases of `activities` webhook activities each to the end.
pub async fn engine(releases: usize, activities: usize) -> anyhow::Result<String> {
    let sandbox = Sandbox::start().await?;
    let receiver = WebhookReceiver::start().await?;
    let dir = tempfile::tempdir()?;
    let app = app_on(dir.path(), &process_with_webhooks(&receiver, activities), &sandbox).await?;
    let engine = app.engine().clone();
    let (stop, shutdown) = Shutdown::new();
    let running = tokio::spawn(app.run_until_stopped(shutdown));
    sandbox.wait_ready(1).await?;

    let started = Instant::now();
    // Releases arrive from CREATORS people and pipelines at once, each creating and starting its
    // share in turn, as a team's `/release create` + `/release start` or CI triggers would.
    let mut creators = tokio::task::JoinSet::new();
    for creator in 0..CREATORS {
        let engine = engine.clone();
        creators.spawn(async move {
            let actor = Actor { user: UserId(1 + creator as u64), display_name: format!("bench {creator}"), roles: vec![] };
            let mut ids = vec![];
            for i in (creator..releases).step_by(CREATORS) {
                let new = bench_release(format!("bench {i}"));
                let release = engine.create_release(&actor, new).await?;
                engine.start_release(crate::domain::GuildId(crate::sandbox::GUILD_ID), &actor, release.id).await?;
                ids.push(release.id);
            }
            anyhow::Ok(ids)
        });
    }
    let mut ids = Vec::with_capacity(releases);
    while let Some(created) = creators.join_next().await {
        ids.extend(created.context("a creator task failed")??);
    }
    let queued = started.elapsed();
    let expected = releases * activities;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let done = receiver.call_count();
        if done >= expected {
            break;
        }
        if Instant::now() > deadline {
            return Err(anyhow!("only {done} of {expected} webhook calls after 10 minutes"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The last call's result is recorded just after the receiver answers it.
    for id in &ids {
        while !engine.release(crate::domain::GuildId(crate::sandbox::GUILD_ID), *id).await?.status.is_finished() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let wall = started.elapsed();
    let succeeded = {
        let mut n = 0;
        for id in &ids {
            n += usize::from(engine.release(crate::domain::GuildId(crate::sandbox::GUILD_ID), *id).await?.status == ReleaseStatus::Success);
        }
        n
    };
    let _ = stop.send(true);
    running.await.context("the bot task failed")??;
    let mut out = String::new();
    writeln!(out, "engine: {releases} releases × {activities} webhook activities against a local receiver")?;
    writeln!(out, "  created and started by {CREATORS} concurrent creators in {:.2} s", queued.as_secs_f64())?;
    writeln!(out, "  wall time to the last release's end: {:.2} s", wall.as_secs_f64())?;
    writeln!(out, "  activities/s: {:.0}", expected as f64 / wall.as_secs_f64())?;
    writeln!(out, "  per activity: {:.3} ms of wall time", wall.as_secs_f64() * 1e3 / expected as f64)?;
    writeln!(out, "  releases that ended in Success: {succeeded} of {releases}")?;
    writeln!(out, "  peak RSS: {:.1} MB", peak_rss_mb().unwrap_or(f64::NAN))?;
    Ok(out)
}

/// Sends `/release status` at `rate` per second for `seconds` and reports acknowledgement
/// latency (dispatch → interaction callback), beside the floor: a bare serenity handler that
/// answers every command at once, under the same load on the same sandbox. The budget
/// (docs/architecture.md):
/// p99 ≤ 20 ms and ≤ 1.5× the floor's.
pub async fn interactions(rate: u32, seconds: u32) -> anyhow::Result<String> {
    let sandbox = std::sync::Arc::new(Sandbox::start().await?);
    let floor = bare_serenity_floor(&sandbox, rate, seconds).await?;

    let receiver = WebhookReceiver::start().await?;
    let dir = tempfile::tempdir()?;
    let app = app_on(dir.path(), &process_with_webhooks(&receiver, 1), &sandbox).await?;
    let engine = app.engine().clone();
    let (stop, shutdown) = Shutdown::new();
    let running = tokio::spawn(app.run_until_stopped(shutdown));
    sandbox.wait_ready(2).await?;
    let actor = Actor { user: UserId(1), display_name: "bench".into(), roles: vec![] };
    let new = bench_release("bench");
    let id = engine.create_release(&actor, new).await?.id.to_string();
    let idle_rss = peak_rss_mb();
    let trainmaster = load(&sandbox, rate, seconds, &id).await?;
    let _ = stop.send(true);
    running.await.context("the bot task failed")??;

    let mut out = String::new();
    writeln!(out, "interactions: /release status at {rate}/s for {seconds} s, dispatch → interaction callback")?;
    writeln!(out, "  trainmaster: {}", summary(&trainmaster))?;
    writeln!(out, "  bare serenity floor: {}", summary(&floor))?;
    let (p99, floor_p99) = (ms(percentile(&trainmaster, 0.99)), ms(percentile(&floor, 0.99)));
    let within = p99 <= 20.0 && p99 <= 1.5 * floor_p99;
    writeln!(
        out,
        "  p99 {p99:.2} ms = {:.2}× the floor's {floor_p99:.2} ms: {}",
        p99 / floor_p99,
        if within { "within budget" } else { "OVER budget (p99 ≤ 20 ms and ≤ 1.5× the floor)" }
    )?;
    writeln!(out, "  peak RSS before the load (bot, sandbox and receiver in one process): {:.1} MB", idle_rss.unwrap_or(f64::NAN))?;
    writeln!(out, "  peak RSS after: {:.1} MB", peak_rss_mb().unwrap_or(f64::NAN))?;
    Ok(out)
}

/// `/release status` as a viewer at `rate` per second for `seconds`: each one's latency, sorted.
async fn load(sandbox: &std::sync::Arc<Sandbox>, rate: u32, seconds: u32, id: &str) -> anyhow::Result<Vec<Duration>> {
    let viewer = SandboxUser::new(20, "viewer", &[roles::DEVELOPERS]);
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    let mut tasks = vec![];
    for _ in 0..rate * seconds {
        ticker.tick().await;
        let (sandbox, viewer, id) = (sandbox.clone(), viewer.clone(), id.to_string());
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            sandbox.slash(&viewer, "release", "status", &[("release", &id)]).await.map(|_| sent.elapsed())
        }));
    }
    let mut latencies = vec![];
    for task in tasks {
        latencies.push(task.await??);
    }
    latencies.sort();
    Ok(latencies)
}

/// The floor: a serenity client with nothing but a handler that answers every command at once
/// (registering Trainmaster's commands, so the same slash commands reach it).
async fn bare_serenity_floor(sandbox: &std::sync::Arc<Sandbox>, rate: u32, seconds: u32) -> anyhow::Result<Vec<Duration>> {
    use poise::serenity_prelude as serenity;
    struct Answer;
    #[serenity::async_trait]
    impl serenity::EventHandler for Answer {
        async fn ready(&self, ctx: serenity::Context, _: serenity::Ready) {
            let commands = poise::builtins::create_application_commands(&crate::discord::commands());
            if let Err(e) = serenity::Command::set_global_commands(&ctx.http, commands).await {
                tracing::error!(error = %e, "the floor could not register commands");
            }
        }
        async fn interaction_create(&self, ctx: serenity::Context, interaction: serenity::Interaction) {
            if let serenity::Interaction::Command(command) = interaction {
                let answer = serenity::CreateInteractionResponseMessage::new().content("ok").ephemeral(true);
                let _ = command.create_response(&ctx.http, serenity::CreateInteractionResponse::Message(answer)).await;
            }
        }
    }
    let config = crate::discord::BotConfig { token: TOKEN.into(), api_base: Some(sandbox.base_url()), help_url: None };
    let mut client = serenity::ClientBuilder::new_with_http(crate::discord::http_client(&config), serenity::GatewayIntents::GUILDS)
        .event_handler(Answer)
        .await?;
    let shards = client.shard_manager.clone();
    let running = tokio::spawn(async move { client.start().await });
    sandbox.wait_ready(1).await?;
    let latencies = load(sandbox, rate, seconds, "1").await;
    shards.shutdown_all().await;
    let _ = running.await;
    latencies
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1).min(sorted.len() - 1)]
}

fn summary(latencies: &[Duration]) -> String {
    let p = |q| ms(percentile(latencies, q));
    format!("{} answered; p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms", latencies.len(), p(0.50), p(0.90), p(0.99), p(1.0))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Seeds `releases` finished releases, then measures a fresh start: from building the
/// application to the bot being connected with its commands registered.
pub async fn startup(releases: usize) -> anyhow::Result<String> {
    let sandbox = Sandbox::start().await?;
    let receiver = WebhookReceiver::start().await?;
    let dir = tempfile::tempdir()?;
    let process = process_with_webhooks(&receiver, 3);
    let seeded = Instant::now();
    {
        let app = app_on(dir.path(), &process, &sandbox).await?;
        let engine = app.engine();
        let template = engine.catalog().get("bench").cloned().ok_or_else(|| anyhow!("the bench process did not load"))?;
        let store = engine.store();
        let mut tx = store.begin().await?;
        for i in 0..releases {
            let draft = crate::domain::release::Draft {
                guild_id: crate::domain::GuildId(crate::sandbox::GUILD_ID),
                name: format!("seed {i}"),
                process: template.clone(),
                inputs: Default::default(),
                created_by: UserId(1).into(),
                created_at: chrono::Utc::now(),
                parent: None,
            };
            let before = crate::store::Store::insert_release(&mut tx, draft).await?;
            let mut release = before.clone();
            release.status = ReleaseStatus::Success;
            crate::store::Store::save_release(&mut tx, &before, &release, &[]).await?;
        }
        tx.commit().await?;
    }
    let seeding = seeded.elapsed();
    let sandbox = Sandbox::start().await?;
    let started = Instant::now();
    let app = app_on(dir.path(), &process, &sandbox).await?;
    let (stop, shutdown) = Shutdown::new();
    let running = tokio::spawn(app.run_until_stopped(shutdown));
    sandbox.wait_ready(1).await?;
    let ready = started.elapsed();
    let rss = peak_rss_mb();
    let _ = stop.send(true);
    running.await.context("the bot task failed")??;
    let mut out = String::new();
    writeln!(out, "startup: {releases} releases in the database (seeded in {:.1} s)", seeding.as_secs_f64())?;
    writeln!(out, "  start to ready (connected, commands registered): {:.0} ms", ms(ready))?;
    writeln!(out, "  peak RSS (seeding included, sandbox in the same process): {:.1} MB", rss.unwrap_or(f64::NAN))?;
    Ok(out)
}

/// `bench soak`: `releases` releases of 10 webhook activities started at `rate` per second, as
/// a busy day would, sampling the WAL's size every 100 ms: its peak under load and its size
/// once idle. The bound is `store::WAL_TRUNCATE_AT`.
pub async fn soak(releases: usize, rate: u32) -> anyhow::Result<String> {
    let sandbox = Sandbox::start().await?;
    let receiver = WebhookReceiver::start().await?;
    let dir = tempfile::tempdir()?;
    let app = app_on(dir.path(), &process_with_webhooks(&receiver, 10), &sandbox).await?;
    let engine = app.engine().clone();
    let store = engine.store().clone();
    let (stop, shutdown) = Shutdown::new();
    let running = tokio::spawn(app.run_until_stopped(shutdown));
    sandbox.wait_ready(1).await?;

    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let (peak, store) = (peak.clone(), store.clone());
        tokio::spawn(async move {
            loop {
                peak.fetch_max(store.wal_bytes(), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let guild = crate::domain::GuildId(crate::sandbox::GUILD_ID);
    let actor = Actor { user: UserId(1), display_name: "soak".into(), roles: vec![] };
    let started = Instant::now();
    let mut every = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    let mut ids = Vec::with_capacity(releases);
    for i in 0..releases {
        every.tick().await;
        let new = NewRelease {
            guild_id: guild,
            process: "bench".into(),
            name: format!("soak {i}"),
            inputs: vec![],
            input_set: None,
            channel: None,
        };
        let release = engine.create_release(&actor, new).await?;
        engine.start_release(guild, &actor, release.id).await?;
        ids.push(release.id);
    }
    for id in &ids {
        while !engine.release(guild, *id).await?.status.is_finished() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let busy = started.elapsed();
    let db_bytes = std::fs::metadata(dir.path().join("bench.db")).map(|m| m.len()).unwrap_or(0);
    // Idle: the checkpointer empties the WAL after a few quiet seconds.
    let idle_deadline = Instant::now() + Duration::from_secs(30);
    while store.wal_bytes() > 0 && Instant::now() < idle_deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let idle = store.wal_bytes();
    sampler.abort();
    let _ = stop.send(true);
    running.await.context("the bot task failed")??;
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let mut out = String::new();
    writeln!(out, "soak: {releases} releases × 10 webhook activities started at {rate}/s")?;
    writeln!(out, "  all finished after {:.1} s", busy.as_secs_f64())?;
    writeln!(out, "  database file: {:.1} MiB", mib(db_bytes))?;
    writeln!(
        out,
        "  WAL peak: {:.1} MiB (bound {:.0} MiB)",
        mib(peak.load(std::sync::atomic::Ordering::Relaxed)),
        mib(crate::store::WAL_TRUNCATE_AT)
    )?;
    writeln!(out, "  WAL once idle: {:.1} MiB", mib(idle))?;
    Ok(out)
}

/// Runs `bench engine` of `other` and of this binary as child processes, interleaved (other,
/// this, other, this, …) so both meet the same machine, and prints each run, both medians and
/// their ratio. Absolute times swing between machines and hours; the ratio is the figure.
pub fn compare_engine(other: &std::path::Path, runs: usize, releases: usize, activities: usize) -> anyhow::Result<String> {
    let this = std::env::current_exe().context("cannot find this binary")?;
    let wall = |binary: &std::path::Path| -> anyhow::Result<f64> {
        let out = std::process::Command::new(binary)
            .args(["bench", "engine", "--releases", &releases.to_string(), "--activities", &activities.to_string()])
            .output()
            .with_context(|| format!("cannot run {}", binary.display()))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find(|l| l.contains("wall time to the last release's end:"));
        let seconds = line.and_then(|l| l.rsplit(':').next()).and_then(|v| v.trim().trim_end_matches(" s").parse::<f64>().ok());
        seconds.ok_or_else(|| anyhow!("{} printed no wall time:\n{text}\n{}", binary.display(), String::from_utf8_lossy(&out.stderr)))
    };
    let mut out = String::new();
    writeln!(out, "engine compare: {releases} releases × {activities} webhook activities, {runs} runs each, interleaved")?;
    let (mut theirs, mut ours) = (vec![], vec![]);
    for run in 1..=runs.max(1) {
        let t = wall(other)?;
        writeln!(out, "  run {run}: other {t:.2} s")?;
        theirs.push(t);
        let o = wall(&this)?;
        writeln!(out, "  run {run}: this  {o:.2} s")?;
        ours.push(o);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (t, o) = (median(&mut theirs), median(&mut ours));
    writeln!(out, "  median: other {t:.2} s ({}), this {o:.2} s", other.display())?;
    writeln!(out, "  this binary takes {:.2}× the other's wall time ({:.2}× as fast)", o / t, t / o)?;
    Ok(out)
}

/// `releases` releases each waiting on an approval; bob clicks Approve on each request through
/// the sandbox, one after another, and each click is timed until the release's next activity
/// (a webhook) reaches the receiver: the latency from a person's decision to the next step.
pub async fn approval(releases: usize) -> anyhow::Result<String> {
    let sandbox = Sandbox::start().await?;
    let receiver = WebhookReceiver::start().await?;
    let dir = tempfile::tempdir()?;
    let process = format!(
        "name: bench\nnotices: {{ channel: \"{}\" }}\nphases:\n  - id: decide\n    activities:\n      - {{ id: ok, approval: {{ approvers: [\"role:QA\"], min: 1 }} }}\n  - id: ship\n    activities:\n      - {{ id: deploy, webhook: {{ url: \"{}\" }} }}\n",
        crate::sandbox::CHANNEL_ID,
        receiver.url("/deploy")
    );
    let app = app_on(dir.path(), &process, &sandbox).await?;
    let engine = app.engine().clone();
    let (stop, shutdown) = Shutdown::new();
    let running = tokio::spawn(app.run_until_stopped(shutdown));
    sandbox.wait_ready(1).await?;
    let actor = Actor { user: UserId(10), display_name: "alice".into(), roles: vec![] };
    for i in 0..releases {
        let new = bench_release(format!("bench {i}"));
        let release = engine.create_release(&actor, new).await?;
        engine.start_release(crate::domain::GuildId(crate::sandbox::GUILD_ID), &actor, release.id).await?;
    }
    let mut requests = vec![];
    for n in 1..=releases {
        requests.push(sandbox.wait_for_nth_thread_message(crate::sandbox::CHANNEL_ID, "Approval `ok` needed", n).await?);
    }
    let bob = crate::sandbox::SandboxUser::new(11, "bob", &[crate::sandbox::roles::QA]);
    let mut latencies = Vec::with_capacity(releases);
    for request in &requests {
        // The release is in the button's custom id; its webhook's key names it.
        let approve = request.buttons().into_iter().find(|(_, label)| label == "Approve").map(|(id, _)| id).unwrap_or_default();
        let release = approve.split(':').nth(2).unwrap_or_default().to_string();
        let key_part = format!("/{release}/deploy/");
        let clicked = Instant::now();
        sandbox.click(&bob, request, &approve).await?;
        let deadline = clicked + Duration::from_secs(30);
        let arrived = loop {
            let found = receiver.calls().into_iter().find(|c| c.idempotency_key.as_deref().is_some_and(|k| k.contains(&key_part)));
            if let Some(call) = found {
                break call.at;
            }
            if Instant::now() > deadline {
                return Err(anyhow!("release {release}'s webhook never came after the click"));
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        latencies.push(arrived.saturating_duration_since(clicked));
    }
    latencies.sort();
    let _ = stop.send(true);
    running.await.context("the bot task failed")??;
    let mut out = String::new();
    writeln!(out, "approval: {releases} releases waiting on an approval; Approve clicked through the sandbox, one after another")?;
    writeln!(out, "  click → next activity's webhook at the receiver: {}", summary(&latencies))?;
    let p99 = ms(percentile(&latencies, 0.99));
    writeln!(out, "  p99 {p99:.2} ms: {}", if p99 <= 10.0 { "within the 10 ms target" } else { "OVER the 10 ms target" })?;
    Ok(out)
}

/// `bench insight`: `releases` releases' deliveries over two years (20 services, 3 environments,
/// hotfixes, rollbacks and failures mixed in) and one release of 50 activities with its trail;
/// then the median of 7 runs of `/metrics dora` for a year, `/deployed`, and that release's report.
pub async fn insight(releases: usize) -> anyhow::Result<String> {
    use crate::domain::release::AuditActor;
    use crate::store::{DeliveryFilter, Store};
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("insight.db")).await?;
    let guild = crate::domain::GuildId(crate::sandbox::GUILD_ID);
    let now = chrono::Utc::now();
    let span = chrono::Duration::days(730);
    let seeded = Instant::now();
    let mut tx = store.begin().await?;
    for chunk in (0..releases).collect::<Vec<_>>().chunks(2_000) {
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO deliveries (guild_id, release_id, process, kind, service, version, environment, outcome, created_at, delivered_at, rolled_back_to) ",
        );
        insert.push_values(chunk, |mut b, &i| {
            let at = now - span + span * i as i32 / releases.max(1) as i32;
            let kind = if i % 20 == 7 { "hotfix" } else { "standard" };
            let outcome = match i % 100 {
                3 | 53 | 91 => "rolled_back",
                17 | 71 => "failed_after_delivering",
                _ => "delivered",
            };
            b.push_bind(guild.0 as i64)
                .push_bind(i as i64 + 1)
                .push_bind(format!("process-{}", i % 5))
                .push_bind(kind)
                .push_bind(format!("service-{}", i % 20))
                .push_bind(format!("1.{}.{}", i / 1_000, i % 1_000))
                .push_bind(["dev", "staging", "prod"][i % 3])
                .push_bind(outcome)
                .push_bind((at - chrono::Duration::hours(1 + (i % 48) as i64)).timestamp())
                .push_bind(at.timestamp())
                .push_bind((outcome == "rolled_back").then(|| "1.0.0".to_string()));
        });
        insert.build().execute(&mut *tx).await?;
    }
    // One release of 50 activities, whose trail the report reads.
    let yaml = format!(
        "name: big\nnotices: {{ channel: \"{CHANNEL_ID}\" }}\nphases:\n  - id: work\n    activities:\n{}",
        (0..50).map(|i| format!("      - {{ id: step-{i}, webhook: {{ url: \"https://ci.example.com/{i}\" }} }}\n")).collect::<String>()
    );
    let process = crate::domain::process_file::parse("big.yaml", &yaml).map_err(|e| anyhow!("{e:?}"))?;
    let draft = crate::domain::release::Draft {
        guild_id: guild,
        name: "Big".into(),
        process,
        inputs: Default::default(),
        created_by: UserId(1).into(),
        created_at: now,
        parent: None,
    };
    let release = Store::insert_release(&mut tx, draft).await?;
    let mut rows: Vec<(AuditActor, &str, serde_json::Value)> = vec![(AuditActor::System, "release_started", serde_json::json!({}))];
    rows.push((AuditActor::System, "phase_started", serde_json::json!({"phase": "work"})));
    for i in 0..50 {
        let id = format!("step-{i}");
        rows.push((AuditActor::System, "activity_started", serde_json::json!({"activity": id, "kind": "webhook", "attempt": 1})));
        if i % 10 == 0 {
            rows.push((AuditActor::System, "activity_retry_scheduled", serde_json::json!({"activity": id, "reason": "HTTP 502"})));
        }
        rows.push((AuditActor::System, "activity_finished", serde_json::json!({"activity": id, "status": "Success"})));
    }
    rows.push((AuditActor::System, "phase_finished", serde_json::json!({"phase": "work", "status": "Success"})));
    rows.push((AuditActor::System, "release_finished", serde_json::json!({"status": "Success"})));
    let borrowed: Vec<(&AuditActor, &str, &serde_json::Value)> = rows.iter().map(|(a, act, d)| (a, *act, d)).collect();
    Store::append_audit_rows(&mut tx, Some(release.id), &borrowed).await?;
    tx.commit().await?;
    let seeding = seeded.elapsed();
    let engine = crate::engine::Engine::new(store, Default::default(), "http://127.0.0.1");
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (mut dora, mut deployed, mut report, mut fetch) = (vec![], vec![], vec![], vec![]);
    let (mut figures, mut targets, mut activities, mut chart) = (None, 0, 0, 0);
    for _ in 0..7 {
        // What `/metrics dora period:365d` does: the figures, their 53 weekly buckets and the chart.
        let t = Instant::now();
        let year = (now - chrono::Duration::days(365), now);
        let (f, series) =
            engine.dora_trend(guild, &DeliveryFilter::default(), year, chrono::Duration::days(7), 60, chrono::Duration::days(7)).await?;
        let png = crate::picture::dora_png(&series)?;
        dora.push(t.elapsed());
        figures = Some(f);
        chart = png.len();
        // Where the time goes: reading the rows alone.
        let t = Instant::now();
        let read = engine
            .store()
            .shipped(guild, &DeliveryFilter::default(), now - chrono::Duration::days(372), now + chrono::Duration::days(7))
            .await?;
        fetch.push(t.elapsed());
        let _ = read.len();
        let t = Instant::now();
        targets = engine.deployed(guild, &DeliveryFilter::default()).await?.len();
        deployed.push(t.elapsed());
        let t = Instant::now();
        activities = engine.report(guild, release.id).await?.activities.len();
        report.push(t.elapsed());
    }
    let f = figures.ok_or_else(|| anyhow!("no figures"))?;
    let mut out = String::new();
    writeln!(out, "insight: {releases} releases' deliveries over two years (seeded in {:.1} s)", seeding.as_secs_f64())?;
    writeln!(
        out,
        "  /metrics dora for a year (figures, 53 weekly buckets, the chart): {:.1} ms median of 7 ({} deployments, {} changes, {} KiB PNG)",
        ms(median(dora)),
        f.deployments,
        f.changes,
        chart / 1024
    )?;
    writeln!(out, "    of which reading the year's rows from SQLite: {:.1} ms", ms(median(fetch)))?;
    writeln!(out, "  /deployed: {:.1} ms median of 7 ({targets} services × environments)", ms(median(deployed)))?;
    writeln!(out, "  report of a {activities}-activity release: {:.1} ms median of 7", ms(median(report)))?;
    Ok(out)
}
