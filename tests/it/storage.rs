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
