//! Retention: archiving releases that ended long ago, and deleting archived ones.

use super::releases::{to_i64, to_u64};
use super::{Store, StoreError, Tx};
use crate::domain::{GuildId, ReleaseId};
use chrono::{DateTime, Utc};

impl Store {
    /// The servers with ended releases not archived yet.
    pub async fn guilds_with_ended(&self) -> Result<Vec<GuildId>, StoreError> {
        let ids = sqlx::query_file_scalar!("src/store/sql/select_guilds_with_ended.sql").fetch_all(self.pool()).await?;
        Ok(ids.into_iter().map(|g| GuildId(to_u64(g))).collect())
    }

    /// Archives `guild`'s releases that ended before `cutoff`; returns their ids.
    pub async fn archive_ended(tx: &mut Tx, guild: GuildId, cutoff: DateTime<Utc>) -> Result<Vec<ReleaseId>, StoreError> {
        let now = tx.now().to_rfc3339();
        let ids = sqlx::query_file_scalar!("src/store/sql/archive_releases.sql", to_i64(guild.0), cutoff.to_rfc3339(), now)
            .fetch_all(&mut **tx)
            .await?;
        Ok(ids.into_iter().map(ReleaseId).collect())
    }

    /// When release `id` was archived, if it was.
    pub async fn archived_at(tx: &mut Tx, id: ReleaseId) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_file_scalar!("src/store/sql/select_archived.sql", id.0).fetch_optional(&mut **tx).await?.flatten())
    }

    /// Deletes an archived release (its runs and outbox rows go with it; its trail and what it
    /// delivered stay). Returns whether it was deleted.
    pub async fn delete_archived(tx: &mut Tx, id: ReleaseId) -> Result<bool, StoreError> {
        sqlx::query_file!("src/store/sql/unlink_children.sql", id.0).execute(&mut **tx).await?;
        let done = sqlx::query_file!("src/store/sql/delete_archived.sql", id.0).execute(&mut **tx).await?;
        Ok(done.rows_affected() == 1)
    }
}
