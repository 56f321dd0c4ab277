//! The release board: where each server's board message is, and its coalesced redraws.

use super::planning::sortable;
use super::releases::{to_i64, to_u64};
use super::{corrupt, Store, StoreError, Tx, CARD_EDIT_GAP_MS};
use crate::domain::{ChannelId, GuildId, ReleaseId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A redraw of a server's board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardRedraw {
    pub guild_id: GuildId,
}

impl Store {
    /// Puts server `guild`'s board in `channel` (a new channel: a new message there).
    pub async fn set_board(tx: &mut Tx, guild: GuildId, channel: ChannelId) -> Result<(), StoreError> {
        sqlx::query_file!("src/store/sql/upsert_board.sql", to_i64(guild.0), to_i64(channel.0)).execute(&mut **tx).await?;
        Ok(())
    }

    /// Where server `guild`'s board is: its channel and, once posted, its message.
    pub async fn board(&self, guild: GuildId) -> Result<Option<(ChannelId, Option<u64>)>, StoreError> {
        let row = sqlx::query_file!("src/store/sql/select_board.sql", to_i64(guild.0)).fetch_optional(self.pool()).await?;
        Ok(row.map(|r| (ChannelId(to_u64(r.channel_id)), r.message_id.map(to_u64))))
    }

    pub async fn board_drawn(&self, guild: GuildId, channel: ChannelId, message: u64) -> Result<(), StoreError> {
        let now = self.now().timestamp_millis();
        sqlx::query_file!("src/store/sql/board_drawn.sql", to_i64(guild.0), to_i64(message), now, to_i64(channel.0))
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Asks for `guild`'s board to be redrawn (nothing when it has none; coalesced).
    pub async fn enqueue_board_redraw(tx: &mut Tx, guild: GuildId) -> Result<(), StoreError> {
        let payload = serde_json::to_string(&super::ChatWork::Board { board: BoardRedraw { guild_id: guild } }).map_err(corrupt)?;
        let now = tx.now_ms();
        sqlx::query_file!("src/store/sql/enqueue_board.sql", to_i64(guild.0), payload, now, CARD_EDIT_GAP_MS).execute(&mut **tx).await?;
        Ok(())
    }

    /// The releases a board shows: running, on hold, planned before `until`.
    pub async fn active_releases(&self, guild: GuildId, until: DateTime<Utc>) -> Result<Vec<ReleaseId>, StoreError> {
        let ids =
            sqlx::query_file_scalar!("src/store/sql/select_active.sql", to_i64(guild.0), sortable(until)).fetch_all(self.pool()).await?;
        Ok(ids.into_iter().map(ReleaseId).collect())
    }
}
