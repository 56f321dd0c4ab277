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

async fn trigger(bot: &Bot, run: &str) -> anyhow::Result<i64> {
    let url = format!("http://{}/hooks/releases", bot.http);
    let body = serde_json::json!({"guild_id": GUILD_ID.to_string(), "process": "deploy", "name": run, "start": true});
    let (status, answer) = post_signed(&url, TRIGGER_SECRET, run, now(), body.to_string().as_bytes()).await?;
    anyhow::ensure!(status == 201, "trigger {run}: {status} {answer}");
    answer["id"].as_i64().ok_or_else(|| anyhow::anyhow!("no id in {answer}"))
}

async fn status_of(store: &Store, id: i64) -> anyhow::Result<String> {
    let mut tx = store.pool().begin().await?;
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
    let sandbox = Sandbox::start().await?;
    let receiver = WebhookReceiver::start().await?;
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("processes"))?;
    std::fs::write(dir.path().join("processes/deploy.yaml"), one_call_process(&receiver))?;
    let mut bot = Bot::new(dir.path(), sandbox.base_url())?;
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
