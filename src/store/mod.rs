//! SQLite through sqlx: connection, migrations, the release repository, the audit trail and the
//! outbox. Every read-then-write transaction starts with `BEGIN IMMEDIATE` (see `Store::begin`).

mod audit;
mod cards;
mod delegations;
mod hooks;
mod listing;
mod outbox;
mod releases;
mod requests;

pub use audit::AuditRow;
pub use cards::{Card, CardRedraw, DrawnCard, CARD_EDIT_GAP_MS};
pub use hooks::{ActivityDurations, CallbackTarget};
pub use listing::{ReleaseFilter, ReleasePage, ReleaseSummary};
pub use outbox::{
    enqueue_chat_to, enqueue_daily_audit_head, AuditHeadPost, ChatMessage, ChatWork, Destination, OutboxItem, Topic, WebhookWork,
};
pub use requests::OpenRequest;

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

/// Stored data that does not read back as what was written.
pub(super) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub type Tx = Transaction<'static, Sqlite>;

/// Two pools over one file. Every write goes through `writer`, a single connection: its pool's
/// FIFO queue serves writers in turn, where SQLite's busy handler would make them sleep and poll
/// (up to 100 ms a nap) and starve whoever loses, such as a `/release start` behind eight
/// webhook workers. Reads use `pool` and, in WAL mode, never wait for the writer.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    writer: SqlitePool,
    /// This database's installation id (created with it): prefixes idempotency keys.
    installation: std::sync::Arc<str>,
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
        let cannot_open = || format!("cannot open the database at {}", path.display());
        // The writer never checkpoints: a checkpoint inside a commit waits for fsync and stalls every
        // queued writer (measured: 15 s → 12 s for `bench engine`). `checkpoint()` does it instead,
        // from a read connection, while writes go on.
        let writer_options = options.clone().pragma("wal_autocheckpoint", "0");
        let writer = SqlitePoolOptions::new().max_connections(1).connect_with(writer_options).await.with_context(cannot_open)?;
        sqlx::migrate!("./migrations").run(&writer).await.with_context(|| format!("cannot apply migrations to {}", path.display()))?;
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await.with_context(cannot_open)?;
        let installation = sqlx::query_file_scalar!("src/store/sql/select_installation.sql")
            .fetch_one(&pool)
            .await
            .with_context(|| format!("cannot read the installation id from {}", path.display()))?;
        Ok(Self { pool, writer, installation: installation.into() })
    }

    /// The installation id, created with the database: two databases never share one.
    pub fn installation(&self) -> &str {
        &self.installation
    }

    /// A write transaction on the single writer connection. `BEGIN IMMEDIATE` still takes the
    /// write lock up front, so a writer outside this pool (a second process, the `audit` CLI)
    /// makes it wait on busy_timeout instead of failing with SQLITE_BUSY at its first write.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Copies committed pages from the WAL into the database file without waiting for or
    /// blocking the writer (a PASSIVE checkpoint). The application calls it every second; at
    /// close, SQLite checkpoints what is left.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&self.pool).await?;
        Ok(())
    }

    /// The read pool. Writes belong in `begin()`'s transactions.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The writer connection, for single-statement writes outside a transaction.
    fn writer(&self) -> &SqlitePool {
        &self.writer
    }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
