//! Planning rows: freezes added in chat, release group occurrences and pauses, advance notices,
//! and the releases planned in a period.

use super::releases::{to_i64, to_u64};
use super::{corrupt, Store, StoreError, Tx};
use crate::domain::planning::freeze::{Freeze, FreezeOrigin};
use crate::domain::{ChannelId, GuildId, ReleaseId};
use chrono::{DateTime, Utc};

/// An occurrence a release group dealt with, and its release (if it was not skipped ahead).
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    pub key: String,
    pub release: Option<ReleaseId>,
    pub status: Option<String>,
    pub name: Option<String>,
}

/// A time as `planned_at` holds it: UTC to the second, so text order is time order.
pub(super) fn sortable(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Store {
    /// Stores a freeze added in chat; returns it with its id.
    pub async fn insert_freeze(tx: &mut Tx, guild: GuildId, mut freeze: Freeze, by: &str, reason: &str) -> Result<Freeze, StoreError> {
        let json = serde_json::to_string(&freeze).map_err(corrupt)?;
        let now = tx.now().to_rfc3339();
        let id = sqlx::query_file_scalar!("src/store/sql/insert_freeze.sql", to_i64(guild.0), json, by, reason, now)
            .fetch_one(&mut **tx)
            .await?;
        freeze.origin = FreezeOrigin::Chat { id, by: by.into(), reason: reason.into() };
        Ok(freeze)
    }

    /// The freezes added in chat in `guild` that nobody ended.
    pub async fn open_freezes(&self, guild: GuildId) -> Result<Vec<Freeze>, StoreError> {
        let rows = sqlx::query_file!("src/store/sql/select_open_freezes.sql", to_i64(guild.0)).fetch_all(self.pool()).await?;
        rows.into_iter()
            .map(|row| {
                let mut freeze: Freeze = serde_json::from_str(&row.freeze_json).map_err(corrupt)?;
                freeze.origin = FreezeOrigin::Chat { id: row.id, by: row.created_by, reason: row.reason };
                Ok(freeze)
            })
            .collect()
    }

    /// Ends freeze `id` of `guild`; the freeze it was, or `None` when there is no such open one.
    pub async fn end_freeze(tx: &mut Tx, guild: GuildId, id: i64, by: &str) -> Result<Option<Freeze>, StoreError> {
        let now = tx.now().to_rfc3339();
        let json = sqlx::query_file_scalar!("src/store/sql/end_freeze.sql", now, by, id, to_i64(guild.0)).fetch_optional(&mut **tx).await?;
        json.map(|j| serde_json::from_str(&j).map_err(corrupt)).transpose()
    }

    /// Claims occurrence `key` of `process`'s group in `guild`: false when it was dealt with before.
    pub async fn claim_occurrence(
        tx: &mut Tx,
        guild: GuildId,
        process: &str,
        key: &str,
        release: Option<ReleaseId>,
    ) -> Result<bool, StoreError> {
        let now = tx.now().to_rfc3339();
        let done = sqlx::query_file!("src/store/sql/insert_occurrence.sql", to_i64(guild.0), process, key, release.map(|r| r.0), now)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_occurrence_release(
        tx: &mut Tx,
        guild: GuildId,
        process: &str,
        key: &str,
        release: ReleaseId,
    ) -> Result<(), StoreError> {
        sqlx::query_file!("src/store/sql/set_occurrence_release.sql", release.0, to_i64(guild.0), process, key).execute(&mut **tx).await?;
        Ok(())
    }

    /// The occurrences of a group from `from` (an occurrence key) on.
    pub async fn occurrences(&self, guild: GuildId, process: &str, from: &str) -> Result<Vec<Occurrence>, StoreError> {
        let rows = sqlx::query_file!("src/store/sql/select_occurrences.sql", to_i64(guild.0), process, from).fetch_all(self.pool()).await?;
        Ok(rows
            .into_iter()
            .map(|r| Occurrence { key: r.occurrence, release: r.release_id.map(ReleaseId), status: r.status, name: r.name })
            .collect())
    }

    pub async fn pause_group(tx: &mut Tx, guild: GuildId, process: &str, by: &str) -> Result<bool, StoreError> {
        let now = tx.now().to_rfc3339();
        let done = sqlx::query_file!("src/store/sql/pause_group.sql", to_i64(guild.0), process, by, now).execute(&mut **tx).await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn resume_group(tx: &mut Tx, guild: GuildId, process: &str) -> Result<bool, StoreError> {
        let done = sqlx::query_file!("src/store/sql/resume_group.sql", to_i64(guild.0), process).execute(&mut **tx).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Who paused the group and when, if it is paused.
    pub async fn group_paused(&self, guild: GuildId, process: &str) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query_file!("src/store/sql/select_paused_group.sql", to_i64(guild.0), process).fetch_optional(self.pool()).await?;
        Ok(row.map(|r| (r.paused_by, r.paused_at)))
    }

    /// The message of a release's advance shipping notice, once posted.
    pub async fn advance_notice(&self, release: ReleaseId) -> Result<Option<(ChannelId, u64)>, StoreError> {
        let row = sqlx::query_file!("src/store/sql/select_advance_notice.sql", release.0).fetch_optional(self.pool()).await?;
        Ok(row.map(|r| (ChannelId(to_u64(r.channel_id)), to_u64(r.message_id))))
    }

    /// Records the posted advance notice, so later changes edit it. Posted again after a crash
    /// before this, the message is the same one (its nonce), so recording it twice is harmless.
    pub async fn advance_notice_posted(&self, release: ReleaseId, channel: ChannelId, message: u64) -> Result<(), StoreError> {
        let now = self.now().to_rfc3339();
        sqlx::query_file!("src/store/sql/insert_advance_notice.sql", release.0, to_i64(channel.0), to_i64(message), now)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// The ids of `guild`'s releases planned to start in [from, to), earliest first.
    pub async fn planned_between(&self, guild: GuildId, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<ReleaseId>, StoreError> {
        let (from, to) = (sortable(from), sortable(to));
        let ids = sqlx::query_file_scalar!("src/store/sql/select_planned.sql", to_i64(guild.0), from, to).fetch_all(self.pool()).await?;
        Ok(ids.into_iter().map(ReleaseId).collect())
    }
}
