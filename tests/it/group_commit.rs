//! Webhook results recorded together (group commit): each is fenced as alone, a bad one cannot
//! fail the others, the audit chain stays whole, and every worker gets its own next task.

use trainmaster::app::{Application, Settings};
use trainmaster::domain::principal::Actor;
use trainmaster::domain::release::{CallOutcome, WebhookCall};
use trainmaster::domain::{GuildId, UserId};
use trainmaster::engine::{Engine, NewRelease};
use trainmaster::sandbox::{CHANNEL_ID, GUILD_ID};
use trainmaster::store::{OutboxItem, Topic, WebhookWork};

const PROCESS: &str = "name: two\nnotices: { channel: \"CHANNEL\" }\nphases:\n  - id: work\n    activities:\n      - { id: first, webhook: { url: \"http://127.0.0.1:9/a\" } }\n      - { id: second, webhook: { url: \"http://127.0.0.1:9/b\" } }\n";

/// An engine over a fresh database, its workers not running: the test claims and records.
async fn engine(dir: &std::path::Path) -> anyhow::Result<Engine> {
    let processes = dir.join("processes");
    std::fs::create_dir_all(&processes)?;
    std::fs::write(processes.join("two.yaml"), PROCESS.replace("CHANNEL", &CHANNEL_ID.to_string()))?;
    let settings = Settings::local("sandbox-token", Some("http://127.0.0.1:9".into()), dir.join("t.db"), processes);
    Ok(Application::build(&settings).await?.engine().clone())
}

fn success() -> CallOutcome {
    CallOutcome::Success { outputs: Default::default(), answer: None }
}

/// Starts `n` releases and claims each one's first webhook try.
async fn claimed_first_calls(engine: &Engine, n: usize) -> anyhow::Result<Vec<(OutboxItem, WebhookCall)>> {
    let actor = Actor { user: UserId(1), display_name: "alice".into(), roles: vec![] };
    for i in 0..n {
        let new = NewRelease {
            guild_id: GuildId(GUILD_ID),
            process: "two".into(),
            name: format!("r{i}"),
            inputs: vec![],
            input_set: None,
            channel: None,
        };
        let release = engine.create_release(&actor, new).await?;
        engine.start_release(GuildId(GUILD_ID), &actor, release.id).await?;
    }
    let mut claimed = vec![];
    while let Some(item) = engine.store().claim_outbox(Topic::Webhook, std::time::Duration::from_secs(60)).await? {
        match serde_json::from_value(item.payload.clone())? {
            WebhookWork::Call(call) => claimed.push((item, call)),
            other => anyhow::bail!("unexpected work {other:?}"),
        }
    }
    anyhow::ensure!(claimed.len() == n, "claimed {} first calls of {n}", claimed.len());
    Ok(claimed)
}

/// Records every result at once, as many workers finishing together would; in order.
async fn record_all_at_once(
    engine: &Engine,
    claimed: &[(OutboxItem, WebhookCall)],
) -> anyhow::Result<Vec<Result<Option<OutboxItem>, trainmaster::engine::EngineError>>> {
    let tasks: Vec<_> = claimed
        .iter()
        .cloned()
        .map(|(item, call)| {
            let engine = engine.clone();
            tokio::spawn(async move { engine.record_webhook_result(&item, &call, success()).await })
        })
        .collect();
    let mut recorded = vec![];
    for task in tasks {
        recorded.push(task.await?);
    }
    Ok(recorded)
}

#[tokio::test]
async fn results_recorded_together_are_each_fenced_and_each_worker_gets_its_own_next_task() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let engine = engine(dir.path()).await?;
    let mut claimed = claimed_first_calls(&engine, 8).await?;
    // One result comes from a claim that is no longer current (re-claimed meanwhile): dropped.
    claimed[3].0.claims += 1;
    let recorded = record_all_at_once(&engine, &claimed).await?;
    let mut next_keys = vec![];
    for (i, r) in recorded.into_iter().enumerate() {
        match r {
            Ok(next) => next_keys.extend(next.map(|n| n.key)),
            Err(e) => anyhow::bail!("result {i} failed: {e}"),
        }
    }
    // Seven releases moved on to `second`: seven new tries, each handed to exactly one worker
    // (workers are alike: which one gets which does not matter), and one worker gets none.
    let mut unique = next_keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((next_keys.len(), unique.len()), (7, 7), "{next_keys:?}");
    assert!(unique.iter().all(|k| k.contains("/second/")), "{unique:?}");
    for (i, (item, _)) in claimed.iter().enumerate() {
        let release = engine.release(GuildId(GUILD_ID), item.release_id.ok_or_else(|| anyhow::anyhow!("no release"))?).await?;
        let first = release.activity("first").map(|a| a.status.as_str());
        let expected = if i == 3 { "Running" } else { "Success" };
        assert_eq!(first, Some(expected), "release {i}");
    }
    assert!(engine.store().verify_audit().await?.is_ok(), "the audit chain is whole");
    Ok(())
}

#[tokio::test]
async fn a_result_the_release_refuses_fails_alone_and_the_others_in_its_batch_are_recorded() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let engine = engine(dir.path()).await?;
    let mut claimed = claimed_first_calls(&engine, 6).await?;
    // A result for an activity the process does not have: an error, not a stale result.
    claimed[2].1.activity = "no-such-step".into();
    let recorded = record_all_at_once(&engine, &claimed).await?;
    for (i, r) in recorded.iter().enumerate() {
        assert_eq!(r.is_err(), i == 2, "result {i}: {r:?}");
    }
    for (i, (item, _)) in claimed.iter().enumerate() {
        let release = engine.release(GuildId(GUILD_ID), item.release_id.ok_or_else(|| anyhow::anyhow!("no release"))?).await?;
        let first = release.activity("first").map(|a| a.status.as_str());
        assert_eq!(first, Some(if i == 2 { "Running" } else { "Success" }), "release {i}");
    }
    // The refused result's row is still claimed, not completed: its worker still owes it.
    let done: Vec<i64> = sqlx::query_scalar("SELECT id FROM outbox WHERE done_at IS NOT NULL AND topic = 'webhook'")
        .fetch_all(engine.store().pool())
        .await?;
    assert!(!done.contains(&claimed[2].0.id) && done.len() == 5, "{done:?}");
    assert!(engine.store().verify_audit().await?.is_ok(), "the audit chain is whole");
    Ok(())
}
