//! A write transaction: its time, what it remembers so it need not read it again, and the
//! append-only rows it holds back until it commits.
//!
//! Every statement is a round trip to sqlx's SQLite thread (~45 µs here), so rows nobody reads
//! back inside the transaction are written together at the end: audit rows (their chain is
//! computed in memory from the remembered head) and outbox rows (new work; nothing in the
//! transaction looks them up, and `flush` runs before every claim, which does). Card and board
//! redraws are not held back: their coalescing reads their own rows.

use sqlx::{Sqlite, Transaction};

/// A write transaction and the time it runs at: read once from the store's clock when it begins,
/// so every row it writes (audit, outbox due times, runs) carries the same instant, and tests that
/// move the clock move every stored time with it. Derefs to the connection (`&mut **tx`).
pub struct Tx {
    inner: Transaction<'static, Sqlite>,
    now: chrono::DateTime<chrono::Utc>,
    /// The audit chain's head once this transaction read or moved it: nobody else writes while
    /// it holds the write lock, so later rows chain to it without reading it again.
    pub(super) audit_head: Option<(i64, String)>,
    /// Each release's count of chat rows once this transaction read it (see `enqueue_chat_to`).
    pub(super) chat_rows: std::collections::HashMap<crate::domain::ReleaseId, i64>,
    /// Audit rows chained but not written yet.
    pub(super) audit_rows: Vec<AuditInsert>,
    /// Outbox rows queued but not written yet.
    pub(super) outbox_rows: Vec<OutboxInsert>,
}

/// An audit row as `insert_audit_rows.sql` writes it.
pub(super) struct AuditInsert {
    pub id: i64,
    pub release_id: Option<i64>,
    pub at: String,
    pub actor_json: String,
    pub action: String,
    pub detail_json: String,
    pub prev_hash: String,
    pub hash: String,
}

/// An outbox row; `INSERT OR IGNORE` by its key.
pub(super) struct OutboxInsert {
    pub topic: &'static str,
    pub key: String,
    pub release_id: Option<i64>,
    pub payload: String,
    pub due_ms: i64,
    pub priority: i64,
}

/// Rows per INSERT: far below SQLite's 32,766 bound parameters.
const ROWS_PER_INSERT: usize = 500;

impl Tx {
    pub(super) fn new(inner: Transaction<'static, Sqlite>, now: chrono::DateTime<chrono::Utc>) -> Self {
        Self { inner, now, audit_head: None, chat_rows: Default::default(), audit_rows: vec![], outbox_rows: vec![] }
    }

    /// The transaction's time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.now
    }

    pub fn now_ms(&self) -> i64 {
        self.now.timestamp_millis()
    }

    /// Writes the rows held back, audit rows first (in chain order), then outbox rows.
    pub async fn flush(&mut self) -> Result<(), sqlx::Error> {
        let audit = std::mem::take(&mut self.audit_rows);
        for chunk in audit.chunks(ROWS_PER_INSERT) {
            let mut insert = sqlx::QueryBuilder::<Sqlite>::new(include_str!("sql/insert_audit_rows.sql"));
            insert.push_values(chunk, |mut b, r| {
                b.push_bind(r.id)
                    .push_bind(r.release_id)
                    .push_bind(r.at.as_str())
                    .push_bind(r.actor_json.as_str())
                    .push_bind(r.action.as_str())
                    .push_bind(r.detail_json.as_str())
                    .push_bind(r.prev_hash.as_str())
                    .push_bind(r.hash.as_str());
            });
            insert.build().execute(&mut *self.inner).await?;
        }
        let outbox = std::mem::take(&mut self.outbox_rows);
        for chunk in outbox.chunks(ROWS_PER_INSERT) {
            let mut insert = sqlx::QueryBuilder::<Sqlite>::new(include_str!("sql/insert_outbox_rows.sql"));
            insert.push_values(chunk, |mut b, r| {
                b.push_bind(r.topic)
                    .push_bind(r.key.as_str())
                    .push_bind(r.release_id)
                    .push_bind(r.payload.as_str())
                    .push_bind(r.due_ms)
                    .push_bind(r.priority);
            });
            insert.build().execute(&mut *self.inner).await?;
        }
        Ok(())
    }

    /// Writes what is held back, then commits.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.flush().await?;
        self.inner.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.inner.rollback().await
    }
}

impl std::ops::Deref for Tx {
    type Target = sqlx::SqliteConnection;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}
