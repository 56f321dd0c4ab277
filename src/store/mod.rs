//! SQLite through sqlx: connection, migrations, the release repository, the audit trail and the
//! outbox. Every read-then-write transaction starts with `BEGIN IMMEDIATE` (see `Store::begin`).

mod audit;
mod hooks;
mod outbox;
mod releases;

pub use audit::AuditRow;
pub use hooks::{ActivityDurations, CallbackTarget};
pub use outbox::{enqueue_chat_to, ChatMessage, OutboxItem, Topic, WebhookWork};

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
}

pub type Tx = Transaction<'static, Sqlite>;

#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if missing) the SQLite file at `path` and applies migrations.
    #[tracing::instrument]
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the database at {}", path.display()))?;
        sqlx::migrate!("./migrations").run(&pool).await.with_context(|| format!("cannot apply migrations to {}", path.display()))?;
        Ok(Self { pool })
    }

    /// A write transaction. `BEGIN IMMEDIATE` takes the write lock up front, so two writers
    /// queue on busy_timeout instead of failing with SQLITE_BUSY at their first write.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
