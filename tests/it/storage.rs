//! The SQLite store on a real file.

use trainmaster::store::Store;

#[tokio::test]
async fn the_database_uses_wal_foreign_keys_and_a_busy_timeout() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("t.db")).await?;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(store.pool()).await?;
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(store.pool()).await?;
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(store.pool()).await?;
    assert_eq!((mode.as_str(), fk), ("wal", 1));
    assert!(busy >= 1_000, "busy_timeout is {busy}");
    Ok(())
}

#[tokio::test]
async fn audit_rows_cannot_be_changed_or_deleted() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("t.db")).await?;
    let mut tx = store.begin().await?;
    Store::append_audit(&mut tx, None, &trainmaster::domain::release::AuditActor::System, "test", &serde_json::json!({})).await?;
    tx.commit().await?;
    let update = sqlx::query("UPDATE audit SET action = 'forged'").execute(store.pool()).await;
    let delete = sqlx::query("DELETE FROM audit").execute(store.pool()).await;
    assert!(update.is_err_and(|e| e.to_string().contains("append-only")));
    assert!(delete.is_err_and(|e| e.to_string().contains("append-only")));
    Ok(())
}

async fn store_with_rows(n: usize) -> anyhow::Result<(tempfile::TempDir, Store)> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("t.db")).await?;
    for i in 0..n {
        let mut tx = store.begin().await?;
        Store::append_audit(&mut tx, None, &trainmaster::domain::release::AuditActor::System, "test", &serde_json::json!({"n": i})).await?;
        tx.commit().await?;
    }
    Ok((dir, store))
}

#[tokio::test]
async fn the_audit_chain_verifies_and_names_an_edited_row() -> anyhow::Result<()> {
    let (_dir, store) = store_with_rows(4).await?;
    let intact = store.verify_audit().await?;
    assert!(matches!(intact, Ok((4, _))), "{intact:?}");
    // Someone with the file drops the guard and rewrites history.
    sqlx::query("DROP TRIGGER audit_is_append_only_update").execute(store.pool()).await?;
    sqlx::query("UPDATE audit SET detail_json = '{\"n\":99}' WHERE id = 3").execute(store.pool()).await?;
    let broken = store.verify_audit().await?;
    assert_eq!(broken.map_err(|e| e.to_string()), Err("row 3 was altered: its content no longer matches its hash".to_string()));
    Ok(())
}

#[tokio::test]
async fn the_audit_chain_names_a_deleted_row() -> anyhow::Result<()> {
    let (_dir, store) = store_with_rows(4).await?;
    sqlx::query("DROP TRIGGER audit_is_append_only_delete").execute(store.pool()).await?;
    sqlx::query("DELETE FROM audit WHERE id = 2").execute(store.pool()).await?;
    let broken = store.verify_audit().await?;
    assert!(broken.is_err_and(|e| e.to_string().contains("ids jump from 1 to 3")));
    Ok(())
}

#[tokio::test]
async fn hotfix_work_is_claimed_before_earlier_standard_work() -> anyhow::Result<()> {
    use trainmaster::domain::process::ReleaseKind;
    use trainmaster::domain::release::{Draft, Effect, WebhookCall};
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("t.db")).await?;
    let standard = trainmaster::domain::process_file::parse("p.yaml", include_str!("../../processes/weekly-production.yaml"))
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut hotfix = standard.clone();
    hotfix.kind = ReleaseKind::Hotfix;
    let call = |activity: &str| WebhookCall::post(activity, "https://ci.example.com", serde_json::json!({}));
    let mut ids = vec![];
    for (process, name) in [(standard, "standard"), (hotfix, "hotfix")] {
        let draft = Draft {
            guild_id: trainmaster::domain::GuildId(1),
            name: name.into(),
            process,
            inputs: Default::default(),
            created_by: trainmaster::domain::UserId(1).into(),
            created_at: chrono::Utc::now(),
            parent: None,
        };
        let mut tx = store.begin().await?;
        let release = Store::insert_release(&mut tx, draft).await?;
        Store::persist_effects(&mut tx, &release, &[Effect::CallWebhook(call(name))]).await?;
        tx.commit().await?;
        ids.push(release.id);
    }
    let lease = std::time::Duration::from_secs(60);
    let first = store.claim_outbox(trainmaster::store::Topic::Webhook, lease).await?.map(|i| i.key);
    let second = store.claim_outbox(trainmaster::store::Topic::Webhook, lease).await?.map(|i| i.key);
    assert_eq!(first, Some(format!("{}/hotfix/1", ids[1])));
    assert_eq!(second, Some(format!("{}/standard/1", ids[0])));
    Ok(())
}

#[tokio::test]
async fn commits_stay_in_the_wal_until_a_checkpoint_copies_them_into_the_database_file() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("t.db");
    let store = Store::open(&path).await?;
    let size = || std::fs::metadata(&path).map(|m| m.len());
    let before = size()?;
    // About 1,600 pages: past SQLite's default autocheckpoint of 1,000, which the writer must not run.
    let detail = serde_json::json!({"padding": "x".repeat(16_000)});
    let mut tx = store.begin().await?;
    for _ in 0..400 {
        Store::append_audit(&mut tx, None, &trainmaster::domain::release::AuditActor::System, "test", &detail).await?;
    }
    tx.commit().await?;
    assert_eq!(size()?, before, "the committing writer copied pages into the database file");
    let wal = store.checkpoint(false).await?;
    assert!(size()? > before + 6_000_000, "the checkpoint did not copy the pages: {} bytes", size()?);
    assert!(wal > 6_000_000, "a busy (not idle) checkpoint under the bound leaves the WAL's file alone: {wal}");
    // Idle, the WAL is emptied: its file does not keep the size of the busiest moment.
    assert_eq!(store.checkpoint(true).await?, 0);
    assert_eq!(store.wal_bytes(), 0);
    Ok(())
}

#[tokio::test]
async fn a_wal_past_its_bound_that_a_reader_pins_is_truncated_once_the_reader_lets_go() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("t.db")).await?;
    // A reader's snapshot from before the writes: a PASSIVE checkpoint cannot copy past it, which
    // is how the WAL grew without bound under steady load.
    let mut reader = store.pool().begin().await?;
    let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit").fetch_one(&mut *reader).await?;
    // 70 MiB of audit rows: past the 64 MiB bound.
    let detail = serde_json::json!({"padding": "x".repeat(1_000_000)});
    let mut tx = store.begin().await?;
    for _ in 0..70 {
        Store::append_audit(&mut tx, None, &trainmaster::domain::release::AuditActor::System, "test", &detail).await?;
    }
    tx.commit().await?;
    assert!(store.wal_bytes() > trainmaster::store::WAL_TRUNCATE_AT, "{}", store.wal_bytes());
    // The reader finishes while the checkpoint waits for it (it waits up to busy_timeout, 5 s).
    let release_reader = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        reader.commit().await
    });
    assert_eq!(store.checkpoint(false).await?, 0, "past the bound and behind, the checkpoint truncates");
    release_reader.await??;
    Ok(())
}

#[tokio::test]
async fn the_running_bot_checkpoints_the_wal_on_its_own() -> anyhow::Result<()> {
    let h = super::harness::Harness::start().await?;
    let store = h.store().await?;
    let path = h.database();
    let before = std::fs::metadata(&path)?.len();
    let detail = serde_json::json!({"padding": "x".repeat(16_000)});
    let mut tx = store.begin().await?;
    for _ in 0..100 {
        Store::append_audit(&mut tx, None, &trainmaster::domain::release::AuditActor::System, "test", &detail).await?;
    }
    tx.commit().await?;
    let deadline = tokio::time::Instant::now() + trainmaster::sandbox::WAIT;
    while std::fs::metadata(&path)?.len() < before + 1_500_000 {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "no checkpoint within {:?}", trainmaster::sandbox::WAIT);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    h.finish().await
}

#[tokio::test]
async fn every_database_gets_its_own_installation_id_and_keeps_it() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let first = Store::open(&a).await?.installation().to_string();
    let other = Store::open(&b).await?.installation().to_string();
    assert_eq!(first.len(), 16, "{first}");
    assert_ne!(first, other, "two databases never send the same idempotency key for different work");
    assert_eq!(Store::open(&a).await?.installation(), first, "reopening keeps the id");
    Ok(())
}
