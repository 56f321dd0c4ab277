//! SQLite through sqlx: connection, migrations, the release repository, the audit trail and the
//! outbox. Every read-then-write transaction starts with `BEGIN IMMEDIATE` (see `Store::begin`).

mod audit;
mod board;
mod cards;
mod delegations;
mod hooks;
mod insight;
mod listing;
mod lock;
mod outbox;
mod planning;
mod releases;
mod requests;
mod retention;
mod tx;
pub use tx::Tx;

pub use audit::AuditRow;
pub use board::BoardRedraw;
pub use cards::{Card, CardRedraw, DrawnCard, CARD_EDIT_GAP_MS};
pub use hooks::{ActivityDurations, CallbackTarget};
pub use insight::DeliveryFilter;
pub use listing::{ReleaseFilter, ReleasePage, ReleaseSummary};
pub use lock::InstanceLock;
pub use outbox::{
    enqueue_chat_to, enqueue_daily_audit_head, AuditHeadPost, ChatMessage, ChatWork, Destination, OutboxItem, Topic, WebhookWork,
};
pub use outbox::{enqueue_digest, AdvancePost, DigestPost};
pub use planning::Occurrence;
pub use requests::OpenRequest;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
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
    /// The fault tests' full disk: a page count the writer may not grow past (0: none).
    page_limit: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Why the workers' last write failed, until one succeeds again: /readyz reports it.
    write_failure: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    /// The database file, whose `-wal` file `checkpoint` keeps bounded.
    path: std::sync::Arc<std::path::PathBuf>,
    /// Where every stored time comes from (see `Tx`).
    clock: crate::domain::SharedClock,
}

/// A WAL larger than this is checkpointed with TRUNCATE (which waits for readers to let go of
/// it) instead of PASSIVE (which copies what it can and never shrinks the file): the bound.
pub const WAL_TRUNCATE_AT: u64 = 64 * 1024 * 1024;

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
            .busy_timeout(Duration::from_secs(5))
            // When a checkpoint resets the WAL, SQLite truncates the file to this size.
            .pragma("journal_size_limit", WAL_TRUNCATE_AT.to_string());
        let cannot_open = || format!("cannot open the database at {}", path.display());
        // The writer never checkpoints: a checkpoint inside a commit waits for fsync and stalls every
        // queued writer (measured: 15 s → 12 s for `bench engine`). `checkpoint()` does it instead,
        // from a read connection, while writes go on.
        let writer_options = options.clone().pragma("wal_autocheckpoint", "0");
        let page_limit = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let limit = page_limit.clone();
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            // A write that fails inside a transaction (SQLITE_FULL on a full disk) can leave the
            // connection believing a transaction is still open: SQLite rolled it back itself,
            // so sqlx's ROLLBACK fails too, and every later BEGIN would be refused ("non-zero
            // transaction depth") until a restart. Such a connection is closed here and the
            // pool opens a clean one. The ping lets a queued rollback of a dropped transaction
            // finish first, so healthy connections are kept.
            .before_acquire(|connection, _| {
                Box::pin(async move {
                    use sqlx::Connection;
                    if connection.is_in_transaction() {
                        connection.ping().await?;
                    }
                    if connection.is_in_transaction() {
                        tracing::warn!("the writer connection was left inside a failed transaction; opening a new one");
                        return Ok(false);
                    }
                    Ok(true)
                })
            })
            .after_connect(move |connection, _| {
                let limit = limit.load(std::sync::atomic::Ordering::Relaxed);
                Box::pin(async move {
                    if limit > 0 {
                        sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA max_page_count = {limit}"))).execute(connection).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(writer_options)
            .await
            .with_context(cannot_open)?;
        sqlx::migrate!("./migrations").run(&writer).await.with_context(|| format!("cannot apply migrations to {}", path.display()))?;
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await.with_context(cannot_open)?;
        let installation = sqlx::query_file_scalar!("src/store/sql/select_installation.sql")
            .fetch_one(&pool)
            .await
            .with_context(|| format!("cannot read the installation id from {}", path.display()))?;
        Ok(Self {
            pool,
            writer,
            installation: installation.into(),
            page_limit,
            write_failure: Default::default(),
            path: std::sync::Arc::new(path.to_path_buf()),
            clock: crate::domain::clock::system(),
        })
    }

    /// The store with its times from `clock` (the application's one clock).
    pub fn with_clock(mut self, clock: crate::domain::SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The store's clock.
    pub fn clock(&self) -> &crate::domain::SharedClock {
        &self.clock
    }

    /// Now, by the store's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// A read transaction on the read pool (nothing written in it is kept: it is dropped).
    pub async fn read(&self) -> Result<Tx, StoreError> {
        Ok(Tx::new(self.pool.begin().await?, self.clock.now()))
    }

    /// The installation id, created with the database: two databases never share one.
    pub fn installation(&self) -> &str {
        &self.installation
    }

    /// A write transaction on the single writer connection. `BEGIN IMMEDIATE` still takes the
    /// write lock up front, so a writer outside this pool (a second process, the `audit` CLI)
    /// makes it wait on busy_timeout instead of failing with SQLITE_BUSY at its first write.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let inner = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        // Read after the write lock is held: a transaction that waited runs at its real time.
        Ok(Tx::new(inner, self.clock.now()))
    }

    /// Copies committed pages from the WAL into the database file without waiting for or
    /// blocking the writer (a PASSIVE checkpoint). The application calls it every second; at
    /// close, SQLite checkpoints what is left.
    ///
    /// The WAL restarts from its beginning only when a writer finds every frame copied and no
    /// reader on it; under steady load some reader always is, so after PASSIVE checkpoints alone
    /// the file grows without bound (measured: 349 MiB after 500 releases; 1.4 GiB in `bench
    /// soak` when TRUNCATE waited for PASSIVE to fall behind). So past `WAL_TRUNCATE_AT`, or when
    /// `idle` (nothing written lately), the checkpoint is TRUNCATE: it waits (up to busy_timeout)
    /// for readers to let go, copies everything and empties the file. It holds writers back while
    /// it runs: `bench engine` (far above a real load) is about 8% slower for it. Returns the
    /// WAL's size afterwards.
    pub async fn checkpoint(&self, idle: bool) -> Result<u64, StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&self.pool).await?;
        let size = self.wal_bytes();
        if size > WAL_TRUNCATE_AT || (idle && size > 0) {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await?;
            return Ok(self.wal_bytes());
        }
        Ok(size)
    }

    /// The size of the database's write-ahead log file in bytes (0 when there is none).
    pub fn wal_bytes(&self) -> u64 {
        std::fs::metadata(format!("{}-wal", self.path.display())).map(|m| m.len()).unwrap_or(0)
    }

    /// For fault tests: makes the database full at `pages` pages (SQLITE_FULL for any write that
    /// needs a new page, as on a full disk), or lifts that with `None`. Not for production use.
    #[doc(hidden)]
    pub async fn limit_pages(&self, pages: Option<u64>) -> Result<(), StoreError> {
        // SQLite's own ceiling, which lifting restores.
        const UNLIMITED: u64 = 4_294_967_294;
        self.page_limit.store(pages.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
        let pragma = format!("PRAGMA max_page_count = {}", pages.unwrap_or(UNLIMITED));
        sqlx::query(sqlx::AssertSqlSafe(pragma)).execute(&self.writer).await?;
        Ok(())
    }

    /// The database's size in pages (`PRAGMA page_count`).
    pub async fn page_count(&self) -> Result<u64, StoreError> {
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(&self.pool).await?;
        Ok(pages.max(0) as u64)
    }

    /// Records whether the workers' writes go through (see `write_failure`).
    pub fn note_writes(&self, failure: Option<String>) {
        *self.write_failure.lock().unwrap_or_else(|p| p.into_inner()) = failure;
    }

    /// Why the workers' last write failed, if it did and none has succeeded since.
    pub fn write_failure(&self) -> Option<String> {
        self.write_failure.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `PRAGMA quick_check`: Err with the first problems when a page is damaged. It reads every
    /// page, so it costs time in proportion to the file (see the README for figures).
    pub async fn integrity_check(&self) -> Result<(), String> {
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA quick_check(5)").fetch_all(&self.pool).await.map_err(|e| e.to_string())?;
        match rows.as_slice() {
            [ok] if ok == "ok" => Ok(()),
            problems => Err(problems.join("; ")),
        }
    }

    /// Writes a consistent copy of the database to `path` (`VACUUM INTO`: a read transaction,
    /// so a running bot goes on). Refuses a `path` that exists.
    pub async fn backup_to(&self, path: &Path) -> anyhow::Result<()> {
        anyhow::ensure!(!path.exists(), "{} exists already; name a new file", path.display());
        let target = path.to_str().with_context(|| format!("{} is not a UTF-8 path", path.display()))?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.pool)
            .await
            .with_context(|| format!("cannot write a backup to {}", path.display()))?;
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
