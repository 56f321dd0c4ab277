//! Release cards: where each release's card message and thread are, and their coalesced redraws.

use super::releases::{to_i64, to_u64};
use super::{Store, StoreError, Tx};
use crate::domain::release::ReleaseId;
use crate::domain::ChannelId;
use serde::{Deserialize, Serialize};

/// At most one card edit per release in this many milliseconds: a busy release stays far from
/// Discord's rate limits (5 edits per 5 s per channel).
pub const CARD_EDIT_GAP_MS: i64 = 2_000;

/// The outbox payload of a card redraw: the notifier draws the release as it is then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRedraw {
    pub release_id: ReleaseId,
    pub channel_id: ChannelId,
}

/// A card as just posted or edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrawnCard {
    pub redraw: CardRedraw,
    pub message_id: u64,
    pub has_thread: bool,
}

/// Where a release's card lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Card {
    pub channel_id: ChannelId,
    pub message_id: Option<u64>,
    pub has_thread: bool,
    /// The channel refused the thread for good: the log goes to the channel.
    pub thread_refused: bool,
}

impl Card {
    /// The thread under the card, once it exists (it has the card message's id).
    pub fn thread_id(&self) -> Option<ChannelId> {
        self.message_id.filter(|_| self.has_thread).map(ChannelId)
    }
}

impl Store {
    /// Asks for the card to be redrawn, coalesced (see `enqueue_card.sql`).
    pub async fn enqueue_card_redraw(tx: &mut Tx, redraw: CardRedraw) -> Result<(), StoreError> {
        let payload = serde_json::to_string(&super::ChatWork::Card { card: redraw }).map_err(super::corrupt)?;
        sqlx::query_file!("src/store/sql/enqueue_card.sql", redraw.release_id.0, payload, tx.now_ms(), CARD_EDIT_GAP_MS)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn card(&self, release: ReleaseId) -> Result<Option<Card>, StoreError> {
        let row = sqlx::query_file!("src/store/sql/select_release_card.sql", release.0).fetch_optional(self.pool()).await?;
        Ok(row.map(|row| Card {
            channel_id: ChannelId(to_u64(row.channel_id)),
            message_id: row.message_id.map(to_u64),
            has_thread: row.has_thread,
            thread_refused: row.thread_refused,
        }))
    }

    /// The card's thread was started after the card (a retry of a failed start).
    pub async fn thread_started(&self, release: ReleaseId) -> Result<(), StoreError> {
        sqlx::query_file!("src/store/sql/thread_started.sql", release.0).execute(self.writer()).await?;
        Ok(())
    }

    /// The channel refuses the card's thread; true the first time, to announce the fallback once.
    pub async fn thread_refused(&self, release: ReleaseId) -> Result<bool, StoreError> {
        let done = sqlx::query_file!("src/store/sql/thread_refused.sql", release.0).execute(self.writer()).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a post or edit of the card (its message, whether its thread exists, and when) in
    /// the transaction that completes the redraw.
    pub async fn card_drawn(tx: &mut Tx, drawn: &DrawnCard) -> Result<(), StoreError> {
        sqlx::query_file!(
            "src/store/sql/update_release_card.sql",
            drawn.redraw.release_id.0,
            to_i64(drawn.redraw.channel_id.0),
            to_i64(drawn.message_id),
            drawn.has_thread,
            tx.now_ms()
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
