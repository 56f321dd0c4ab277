//! Faults: the bot killed (SIGKILL, a real child process) at random points while 50 releases
//! run, and receivers that refuse connections.

use super::child::{free_port, Bot};
use super::harness::*;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::time::Duration;
use trainmaster::domain::release::ReleaseId;
use trainmaster::sandbox::receiver::{Answer, WebhookReceiver};
use trainmaster::sandbox::{Sandbox, CHANNEL_ID, GUILD_ID};
use trainmaster::store::Store;

const RELEASES: usize = 50;
const ACTIVITIES: [&str; 3] = ["left", "right", "join"];

fn crash_process(receiver: &WebhookReceiver) -> String {
    format!(
        "name: crash\nnotices: {{ channel: \"{CHANNEL_ID}\" }}\nphases:\n  - id: work\n    activities:\n      - {{ id: left, webhook: {{ url: \"{}\" }} }}\n      - {{ id: right, depends_on: [], webhook: {{ url: \"{}\" }} }}\n      - {{ id: join, depends_on: [left, right], webhook: {{ url: \"{}\" }} }}\n",
        receiver.url("/left"),
        receiver.url("/right"),
        receiver.url("/join")
    )
}

async fn statuses(store: &Store, ids: &[i64]) -> anyhow::Result<Vec<String>> {
    let mut out = vec![];
    for id in ids {
        let mut tx = store.read().await?;
        let release = Store::load_release(&mut tx, ReleaseId(*id)).await?;
        out.push(release.map(|r| r.status.to_string()).unwrap_or_default());
    }
    Ok(out)
}

#[tokio::test]
async fn a_bot_killed_at_random_points_finishes_every_release_and_records_each_result_once() -> TestResult {
    let sandbox = Sandbox::start().await?;
    let receiver = WebhookReceiver::start().await?;
    // A slow receiver keeps calls in flight, so kills land between sending and recording.
    receiver.answer_by_default(Answer::Hang(Duration::from_millis(200)));
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("processes"))?;
    std::fs::write(dir.path().join("processes/crash.yaml"), crash_process(&receiver))?;
    let mut bot = Bot::new(dir.path(), sandbox.base_url())?;
    bot.start().await?;

    let url = format!("http://{}/hooks/releases", bot.http);
    let mut ids = vec![];
    for i in 0..RELEASES {
        let body = serde_json::json!({"guild_id": GUILD_ID.to_string(), "process": "crash", "name": format!("r{i}"), "start": true});
        let (status, answer) = post_signed(&url, TRIGGER_SECRET, &format!("run-{i}"), now(), body.to_string().as_bytes()).await?;
        anyhow::ensure!(status == 201, "trigger {i}: {status} {answer}");
        ids.push(answer["id"].as_i64().unwrap_or_default());
    }

    let store = Store::open(&dir.path().join("trainmaster.db")).await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    // Kill at random points of progress, drawn across the whole run (the receiver sees at least
    // one call per activity): a restart may run past a point, and then the kill lands at once.
    let total = RELEASES * ACTIVITIES.len();
    let mut points: Vec<usize> = (0..4).map(|k| rng.random_range(total * k / 5 + 5..total * (k + 1) / 5)).collect();
    points.sort();
    let mut running_at_kill = vec![];
    for point in points {
        // Wait for that progress; stop killing if everything finished first.
        let deadline = tokio::time::Instant::now() + trainmaster::sandbox::WAIT;
        while receiver.call_count() < point && statuses(&store, &ids).await?.iter().any(|s| s != "Success") {
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "no progress towards call {point}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if receiver.call_count() < point {
            break;
        }
        bot.kill().await?;
        running_at_kill.push(statuses(&store, &ids).await?.iter().filter(|s| *s != "Success").count());
        bot.start().await?;
    }
    assert!(running_at_kill.len() >= 2, "at least two kills land while releases run: {running_at_kill:?}");
    assert!(running_at_kill.iter().all(|n| *n > 0), "every kill lands while releases run: {running_at_kill:?}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let now_statuses = statuses(&store, &ids).await?;
        if now_statuses.iter().all(|s| s == "Success") {
            break;
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "releases did not finish: {now_statuses:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bot.kill().await?;

    // The receiver saw every run's key at least once (redelivery after a kill may repeat one).
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let calls = receiver.calls();
    for call in &calls {
        *seen.entry(call.idempotency_key.clone().unwrap_or_default()).or_default() += 1;
    }
    for id in &ids {
        for activity in ACTIVITIES {
            let key = format!("{}/{id}/{activity}/run-1", store.installation());
            assert!(seen.contains_key(&key), "the receiver never saw {key}");
        }
    }
    assert!(calls.iter().all(|c| c.attempt == Some(1)), "no retries were needed: {seen:?}");
    // The engine recorded each activity's result exactly once, and the chain has no gap.
    for id in &ids {
        let trail = store.audit_of(ReleaseId(*id)).await?;
        for activity in ACTIVITIES {
            let finished = trail.iter().filter(|r| r.action == "activity_finished" && r.detail["activity"] == activity).count();
            assert_eq!(finished, 1, "release {id}: `{activity}` finished {finished} times");
        }
        assert_eq!(trail.iter().filter(|r| r.action == "release_finished").count(), 1, "release {id}");
    }
    assert!(store.verify_audit().await?.is_ok(), "the audit chain is intact");
    let repeated = seen.values().filter(|n| **n > 1).count();
    println!(
        "{} calls for {} keys; {repeated} keys delivered more than once; releases unfinished at each kill: {running_at_kill:?}",
        receiver.calls().len(),
        seen.len()
    );
    Ok(())
}

#[tokio::test]
async fn a_receiver_that_refuses_connections_is_retried_then_fails_with_the_reason() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    let closed = free_port()?;
    let process = format!(
        "name: refused\nnotices: {{ channel: \"{CHANNEL_ID}\" }}\nphases:\n  - id: p\n    activities:\n      - {{ id: call, webhook: {{ url: \"http://{closed}/hook\" }}, retry: {{ attempts: 2, backoff: 1s }} }}\n"
    );
    let h = Harness::start_with_files(receiver, &[("refused.yaml", &process)]).await?;
    let reply = h.slash(&alice(), "create", &[("process", "refused"), ("name", "Refused")]).await?;
    let id = reply.release_id().unwrap_or_default();
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    let retry = h.sandbox.wait_for_thread_message(CHANNEL_ID, "Trying again (try 2)").await?;
    assert!(retry.content().to_lowercase().contains("connect"), "{}", retry.content());
    let failed = h.sandbox.wait_for_message(CHANNEL_ID, "** failed: ").await?;
    assert!(failed.content().contains("`call` failed after 2 tries"), "{}", failed.content());
    // The retry's announcement is followed by its outcome, and the channel says the reason once:
    // in the end message, not again on the card.
    let outcome = h.sandbox.wait_for_thread_message(CHANNEL_ID, "`call` try 2 failed too; no tries left.").await?;
    assert!(outcome.id > retry.id, "the outcome follows the announcement");
    let card = card_in(&h)?;
    let card = h.sandbox.wait_for_edit(card, "the card shows the end", |m| m.text().contains("— failed at call")).await?;
    let channel: Vec<String> = h.sandbox.messages(CHANNEL_ID).iter().map(|m| m.text()).collect();
    let reasons = channel.iter().map(|t| t.matches("Connection refused").count()).sum::<usize>();
    assert_eq!(reasons, 1, "the reason appears once in the channel: {channel:#?}");
    assert!(!card.text().contains("Connection refused"), "{}", card.text());
    h.finish().await
}

/// The release card in the channel: the one message without text of its own.
fn card_in(h: &Harness) -> anyhow::Result<u64> {
    h.sandbox.messages(CHANNEL_ID).iter().find(|m| m.content().is_empty()).map(|m| m.id).ok_or_else(|| anyhow::anyhow!("no card"))
}

/// Try 1 was given up (no callback in time) and try 2 is out when try 1's success arrives: it is
/// refused and audited, and only try 2's result moves the release.
#[tokio::test]
async fn a_late_success_for_a_try_that_was_given_up_changes_nothing() -> TestResult {
    let (_secret_dir, secret_path) = secret_file()?;
    let receiver = WebhookReceiver::start().await?;
    let process = callback_process(&receiver, &secret_path, "1s");
    let h = Harness::start_with(receiver, &process).await?;
    let id = h.create(VALID_INPUTS).await?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    let calls = h.receiver.wait_for_calls(2).await?;
    let first = calls[0].body["callback_url"].as_str().unwrap_or_default().to_string();
    let second = calls[1].body["callback_url"].as_str().unwrap_or_default().to_string();
    let success = br#"{"status": "success"}"#;

    let (status, body) = post_signed(&first, TRIGGER_SECRET, "late-1", now(), success).await?;
    assert_eq!(status, 409, "{body}");
    let refused = h.wait_for_audit(&id, "callback_refused").await?;
    assert!(refused.detail.to_string().contains("branch-cut"), "{:?}", refused.detail);
    let trail = h.audit(&id).await?;
    let finished = trail.iter().filter(|r| r.action == "activity_finished" && r.detail["activity"] == "branch-cut").count();
    assert_eq!(finished, 0, "the late success finished nothing");

    let (status, body) = post_signed(&second, TRIGGER_SECRET, "on-time-2", now(), success).await?;
    assert_eq!(status, 200, "{body}");
    h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `qa-approval` needed").await?;
    let finished: Vec<_> =
        h.audit(&id).await?.into_iter().filter(|r| r.action == "activity_finished" && r.detail["activity"] == "branch-cut").collect();
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0].detail["attempt"], 2);
    h.finish().await
}

/// How many `release_started` rows each of `ids` has in the trail.
async fn starts(store: &Store, ids: &[String]) -> anyhow::Result<Vec<i64>> {
    let mut out = vec![];
    for id in ids {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit WHERE release_id = ? AND action = 'release_started'")
            .bind(id.parse::<i64>()?)
            .fetch_one(store.pool())
            .await?;
        out.push(n);
    }
    Ok(out)
}

#[tokio::test]
async fn a_bot_killed_while_scheduled_releases_come_due_starts_each_exactly_once() -> TestResult {
    const PLANNED: usize = 20;
    let sandbox = Sandbox::start().await?;
    let receiver = WebhookReceiver::start().await?;
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("processes"))?;
    std::fs::write(dir.path().join("processes/crash.yaml"), crash_process(&receiver))?;
    let mut bot = Bot::new(dir.path(), sandbox.base_url())?;
    bot.start().await?;
    let mut ids = vec![];
    for i in 0..PLANNED {
        let options = [("process", "crash"), ("name", &format!("planned {i}") as &str), ("at", "2027-06-01 10:00")];
        let reply = sandbox.slash(&alice(), "release", "create", &options).await?;
        ids.push(reply.release_id().ok_or_else(|| anyhow::anyhow!("no card: {}", reply.text()))?);
    }
    bot.kill().await?;
    // Their time comes while the bot is down: every start timer is due when it comes back.
    let store = Store::open(&dir.path().join("trainmaster.db")).await?;
    sqlx::query("UPDATE outbox SET available_at = 0 WHERE key LIKE '%/scheduled-start/%'").execute(store.pool()).await?;
    bot.start().await?;
    // Killed again as soon as the first one has started: somewhere among the starts.
    let deadline = tokio::time::Instant::now() + trainmaster::sandbox::WAIT;
    while starts(&store, &ids).await?.iter().all(|n| *n == 0) {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "no scheduled release started: {}", bot.log());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    bot.kill().await?;
    bot.start().await?;
    let deadline = tokio::time::Instant::now() + trainmaster::sandbox::WAIT;
    while starts(&store, &ids).await?.contains(&0) {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "not every scheduled release started: {}", bot.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(starts(&store, &ids).await?, vec![1; PLANNED], "each started exactly once across two kills");
    bot.kill().await?;
    Ok(())
}
