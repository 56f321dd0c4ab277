//! The audit trail: appended in the caller's write transaction (so the chain's head cannot move
//! underneath it), read per release, verified end to end.

use super::tx::AuditInsert;
use super::{corrupt, Store, StoreError, Tx};
use crate::domain::audit::{self, ChainBreak, StoredRow};
use crate::domain::release::{AuditActor, ReleaseId};

/// One row of the audit trail.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub id: i64,
    pub release_id: Option<i64>,
    pub at: String,
    pub actor: serde_json::Value,
    pub action: String,
    pub detail: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// A row as stored, text for text, for hashing (as `select_audit.sql` reads it).
struct RawRow {
    id: i64,
    release_id: Option<i64>,
    at: String,
    actor_json: String,
    action: String,
    detail_json: String,
    prev_hash: String,
    hash: String,
}

impl RawRow {
    fn stored(&self) -> StoredRow<'_> {
        StoredRow {
            id: self.id,
            release_id: self.release_id,
            at: &self.at,
            actor_json: &self.actor_json,
            action: &self.action,
            detail_json: &self.detail_json,
        }
    }
}

impl Store {
    /// Appends one row, chained to the current head. Runs inside the caller's `BEGIN IMMEDIATE`
    /// transaction, which holds the write lock, so no other row can take the same place.
    pub async fn append_audit(
        tx: &mut Tx,
        release: Option<ReleaseId>,
        actor: &AuditActor,
        action: &str,
        detail: &serde_json::Value,
    ) -> Result<(), StoreError> {
        Self::append_audit_rows(tx, release, &[(actor, action, detail)]).await
    }

    /// Appends rows in order, chained to the current head: the head is read once per
    /// transaction and the rows are written at its commit, together with the rest it held back.
    pub async fn append_audit_rows(
        tx: &mut Tx,
        release: Option<ReleaseId>,
        rows: &[(&AuditActor, &str, &serde_json::Value)],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let (mut id, mut prev_hash) = Self::audit_head(tx).await?.unwrap_or((0, audit::GENESIS.to_string()));
        let at = tx.now().to_rfc3339();
        // Chained here, written with the transaction's other held-back rows (`Tx::flush`).
        for (actor, action, detail) in rows {
            let actor_json = serde_json::to_string(actor).map_err(corrupt)?;
            let detail_json = detail.to_string();
            id += 1;
            let row =
                StoredRow { id, release_id: release.map(|r| r.0), at: &at, actor_json: &actor_json, action, detail_json: &detail_json };
            let hash = audit::chain_hash(&prev_hash, &row);
            let prev = std::mem::replace(&mut prev_hash, hash.clone());
            tx.audit_rows.push(AuditInsert {
                id,
                release_id: release.map(|r| r.0),
                at: at.clone(),
                actor_json,
                action: action.to_string(),
                detail_json,
                prev_hash: prev,
                hash,
            });
        }
        tx.audit_head = Some((id, prev_hash));
        Ok(())
    }

    /// The chain's head: the last row's id and hash (read once per write transaction).
    pub async fn audit_head(tx: &mut Tx) -> Result<Option<(i64, String)>, StoreError> {
        if let Some(head) = &tx.audit_head {
            return Ok(Some(head.clone()));
        }
        let head = sqlx::query_file!("src/store/sql/audit_head.sql").fetch_optional(&mut **tx).await?.map(|row| (row.id, row.hash));
        tx.audit_head.clone_from(&head);
        Ok(head)
    }

    /// The audit trail of one release, oldest first.
    /// When the release last started and when it ended (RFC 3339), without reading its trail:
    /// what a card's headline needs ("shipped in 42 min").
    pub async fn release_times(&self, release: ReleaseId) -> Result<(Option<String>, Option<String>), StoreError> {
        let row = sqlx::query_file!("src/store/sql/select_release_times.sql", release.0).fetch_one(self.pool()).await?;
        Ok((row.started, row.ended))
    }

    pub async fn audit_of(&self, release: ReleaseId) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query_file_as!(RawRow, "src/store/sql/select_audit.sql", release.0).fetch_all(self.pool()).await?;
        rows.into_iter()
            .map(|raw| {
                Ok(AuditRow {
                    id: raw.id,
                    release_id: raw.release_id,
                    actor: serde_json::from_str(&raw.actor_json).map_err(corrupt)?,
                    detail: serde_json::from_str(&raw.detail_json).map_err(corrupt)?,
                    at: raw.at,
                    action: raw.action,
                    prev_hash: raw.prev_hash,
                    hash: raw.hash,
                })
            })
            .collect()
    }

    /// Walks the whole chain. `Ok((rows, head hash))`, or the first break.
    pub async fn verify_audit(&self) -> Result<Result<(usize, String), ChainBreak>, StoreError> {
        let raw = sqlx::query_file_as!(RawRow, "src/store/sql/select_all_audit.sql").fetch_all(self.pool()).await?;
        Ok(audit::verify(raw.iter().map(|r| (r.stored(), r.prev_hash.as_str(), r.hash.as_str()))))
    }
}
