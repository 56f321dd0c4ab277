//! Running in production: stopping on SIGTERM, one instance per database, honest readiness,
//! a full disk and the way back.

use super::child::Bot;
use super::harness::*;
use std::time::Duration;
use trainmaster::domain::release::ReleaseId;
use trainmaster::sandbox::receiver::{Answer, WebhookReceiver};
use trainmaster::sandbox::{Sandbox, CHANNEL_ID, GUILD_ID};
use trainmaster::store::Store;

fn one_call_process(receiver: &WebhookReceiver) -> String {
    format!(
        "name: deploy\nnotices: {{ channel: \"{CHANNEL_ID}\" }}\nphases:\n  - id: go\n    activities:\n      - {{ id: deploy, webhook: {{ url: \"{}\" }} }}\n",
        receiver.url("/deploy")
    )
}

/// A sandbox, a receiver, and a bot (not started) whose one process calls the receiver once.
async fn deploy_bot() -> anyhow::Result<(Sandbox, WebhookReceiver, tempfile::TempDir, Bot)> {
    let sandbox = Sandbox::start().await?;
    let receiver = WebhookReceiver::start().await?;
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("processes"))?;
    std::fs::write(dir.path().join("processes/deploy.yaml"), one_call_process(&receiver))?;
    let bot = Bot::new(dir.path(), sandbox.base_url())?;
    Ok((sandbox, receiver, dir, bot))
}

async fn trigger(bot: &Bot, run: &str) -> anyhow::Result<i64> {
    let url = format!("http://{}/hooks/releases", bot.http);
    let body = serde_json::json!({"guild_id": GUILD_ID.to_string(), "process": "deploy", "name": run, "start": true});
    let (status, answer) = post_signed(&url, TRIGGER_SECRET, run, now(), body.to_string().as_bytes()).await?;
    anyhow::ensure!(status == 201, "trigger {run}: {status} {answer}");
    answer["id"].as_i64().ok_or_else(|| anyhow::anyhow!("no id in {answer}"))
}

async fn status_of(store: &Store, id: i64) -> anyhow::Result<String> {
    let mut tx = store.read().await?;
    Ok(Store::load_release(&mut tx, ReleaseId(id)).await?.map(|r| r.status.to_string()).unwrap_or_default())
}

async fn wait_for_status(store: &Store, id: i64, status: &str) -> TestResult {
    let deadline = tokio::time::Instant::now() + trainmaster::sandbox::WAIT;
    loop {
        let now_status = status_of(store, id).await?;
        if now_status == status {
            return Ok(());
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "release {id} is {now_status}, not {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sigterm_lets_calls_in_flight_finish_and_a_restart_sends_none_again() -> TestResult {
    let (_sandbox, receiver, dir, mut bot) = deploy_bot().await?;
    bot.start().await?;
    // Calls that take a while, so SIGTERM lands while all three are in flight.
    receiver.answer_by_default(Answer::Hang(Duration::from_millis(1_500)));
    let mut ids = vec![];
    for run in ["run-1", "run-2", "run-3"] {
        ids.push(trigger(&bot, run).await?);
    }
    receiver.wait_for_calls(3).await?;
    let exit = bot.terminate(Duration::from_secs(15)).await?;
    assert!(exit.success(), "SIGTERM is a clean stop: {exit}; {}", bot.log());

    let store = Store::open(&dir.path().join("trainmaster.db")).await?;
    for id in &ids {
        assert_eq!(status_of(&store, *id).await?, "Success", "release {id}: its call finished within the grace and was recorded");
    }
    // After a restart a new release runs; had a call been left unrecorded it would be due first
    // (claims go by due time) and reach the receiver before this one.
    receiver.answer_by_default(Answer::Status(200));
    bot.start().await?;
    let fourth = trigger(&bot, "run-4").await?;
    wait_for_status(&store, fourth, "Success").await?;
    bot.kill().await?;
    let keys: Vec<String> = receiver.calls().iter().map(|c| c.idempotency_key.clone().unwrap_or_default()).collect();
    assert_eq!(keys.len(), 4, "one call per release, none sent twice: {keys:?}");
    Ok(())
}

#[tokio::test]
async fn a_second_instance_on_the_same_database_exits_at_once_naming_the_first() -> TestResult {
    let (_sandbox, _receiver, dir, mut first) = deploy_bot().await?;
    first.start().await?;
    let pid = first.pid().ok_or_else(|| anyhow::anyhow!("no pid"))?;

    let second = first.command(super::child::free_port()?)?.output();
    let second =
        tokio::time::timeout(Duration::from_secs(10), second).await.map_err(|_| anyhow::anyhow!("the second instance kept running"))??;
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("another Trainmaster is serving") && stderr.contains(&format!("pid {pid} ")), "{stderr}");

    // Read-only commands still work beside the running bot.
    let verify = tokio::process::Command::new(env!("CARGO_BIN_EXE_trainmaster"))
        .args(["audit", "verify"])
        .current_dir(dir.path())
        .env("TRAINMASTER_DATABASE", dir.path().join("trainmaster.db"))
        .output()
        .await?;
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    // The first instance is untouched and still works.
    let id = trigger(&first, "after-second").await?;
    let store = Store::open(&dir.path().join("trainmaster.db")).await?;
    wait_for_status(&store, id, "Success").await?;
    first.kill().await
}

/// Polls `/readyz` until it answers `status`; returns its body.
async fn readyz_becomes(url: &str, status: u16) -> anyhow::Result<serde_json::Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let answer = reqwest::get(url).await?;
        let code = answer.status().as_u16();
        let body: serde_json::Value = answer.json().await?;
        if code == status {
            return Ok(body);
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "/readyz stayed {code} {body}, not {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn readyz_says_not_ready_while_the_gateway_is_down_and_ready_once_it_is_back() -> TestResult {
    let h = Harness::start().await?;
    let url = h.http_url("/readyz");
    let ready = readyz_becomes(&url, 200).await?;
    assert_eq!((ready["gateway"].as_str(), ready["database"].as_str()), (Some("connected"), Some("ok")), "{ready}");
    h.sandbox.gateway_outage(true);
    let down = readyz_becomes(&url, 503).await?;
    assert_eq!(down["gateway"], "disconnected", "{down}");
    h.sandbox.gateway_outage(false);
    readyz_becomes(&url, 200).await?;
    h.finish().await
}

async fn trigger_at(h: &Harness, run: &str) -> anyhow::Result<(u16, serde_json::Value)> {
    let body = serde_json::json!({"guild_id": GUILD_ID.to_string(), "process": "deploy", "name": run, "start": true});
    post_signed(&h.http_url("/hooks/releases"), TRIGGER_SECRET, run, now(), body.to_string().as_bytes()).await
}

#[tokio::test]
async fn after_a_full_disk_the_bot_recovers_by_itself_and_a_refused_trigger_leaves_nothing() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    let process = one_call_process(&receiver);
    let h = Harness::start_with_files(receiver, &[("deploy.yaml", &process)]).await?;
    let store = h.bot_store()?;
    let (status, first) = trigger_at(&h, "before").await?;
    assert_eq!(status, 201, "{first}");

    // The disk fills: the database may not grow by a page.
    store.limit_pages(Some(store.page_count().await?)).await?;
    let mut accepted = vec![first["id"].as_i64().unwrap_or_default()];
    let mut refused = None;
    for n in 0..200 {
        let run = format!("full-{n}");
        let (status, answer) = trigger_at(&h, &run).await?;
        match status {
            201 => accepted.push(answer["id"].as_i64().unwrap_or_default()),
            _ => {
                assert_eq!(status, 500, "{answer}");
                assert!(answer["error"].is_string(), "{answer}");
                refused = Some(run);
                break;
            }
        }
    }
    let refused = refused.ok_or_else(|| anyhow::anyhow!("the database never filled"))?;
    let full = readyz_becomes(&h.http_url("/readyz"), 503).await?;
    assert!(full["database"].as_str().is_some_and(|d| d.starts_with("writes fail")), "{full}");
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM releases WHERE name = ?").bind(&refused).fetch_one(store.pool()).await?;
    assert_eq!(left, 0, "the refused trigger `{refused}` left a release behind");

    // Space again: no restart, the bot carries on by itself.
    store.limit_pages(None).await?;
    readyz_becomes(&h.http_url("/readyz"), 200).await?;
    let (status, after) = trigger_at(&h, "after").await?;
    assert_eq!(status, 201, "{after}");
    accepted.push(after["id"].as_i64().unwrap_or_default());
    for id in accepted {
        wait_for_status(&store, id, "Success").await?;
    }
    h.finish().await
}

#[tokio::test]
async fn a_damaged_database_is_refused_at_start_saying_how_to_restore_and_a_backup_brings_it_back() -> TestResult {
    use trainmaster::domain::release::AuditActor;
    let (_sandbox, _receiver, dir, bot) = deploy_bot().await?;
    let database = dir.path().join("trainmaster.db");
    let root_page: i64 = {
        let store = Store::open(&database).await?;
        let mut tx = store.begin().await?;
        for n in 0..300 {
            Store::append_audit(&mut tx, None, &AuditActor::System, "filler", &serde_json::json!({"n": n, "pad": "x".repeat(200)})).await?;
        }
        tx.commit().await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(store.pool()).await?;
        sqlx::query_scalar("SELECT rootpage FROM sqlite_master WHERE name = 'audit'").fetch_one(store.pool()).await?
    };
    let trainmaster = |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_trainmaster"));
        command.args(args).current_dir(dir.path()).env("TRAINMASTER_DATABASE", &database);
        command
    };
    let backup = dir.path().join("backup.db");
    let made = trainmaster(&["backup", &backup.display().to_string()]).output()?;
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    assert!(String::from_utf8_lossy(&made.stdout).contains("audit chain intact, 300 rows"), "{}", String::from_utf8_lossy(&made.stdout));

    // A page of the audit table is overwritten, as a failing disk or a stray write would.
    let page_size = 4096;
    let mut file = std::fs::OpenOptions::new().write(true).open(&database)?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start((root_page as u64 - 1) * page_size))?;
    std::io::Write::write_all(&mut file, &vec![0xA5; page_size as usize])?;
    drop(file);
    let refused = tokio::time::timeout(Duration::from_secs(20), bot.command(super::child::free_port()?)?.output()).await??;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "a damaged database is not served: {stderr}");
    assert!(stderr.contains("is damaged") && stderr.contains("trainmaster backup"), "{stderr}");

    // Restored from the backup, it serves again.
    std::fs::copy(&backup, &database)?;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
    }
    let mut bot = bot;
    bot.start().await?;
    bot.kill().await
}
