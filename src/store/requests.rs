//! The messages that ask people for something, kept so they can be closed when nobody needs an
//! answer any more (see migration 0007).

use super::releases::{to_i64, to_u64};
use super::{Store, StoreError};
use crate::domain::release::ReleaseId;
use crate::domain::ChannelId;

/// A request message still showing its buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRequest {
    pub activity: String,
    pub level: u32,
    pub channel_id: ChannelId,
    pub message_id: u64,
}

impl Store {
    /// Remembers a posted request (an approval level's, a manual task's).
    pub async fn record_request(
        &self,
        release: ReleaseId,
        activity: &str,
        level: u32,
        channel: ChannelId,
        message: u64,
    ) -> Result<(), StoreError> {
        sqlx::query_file!(
            "src/store/sql/insert_request_message.sql",
            release.0,
            activity,
            i64::from(level),
            to_i64(channel.0),
            to_i64(message)
        )
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// The release's requests still open, of `activity` only when given.
    pub async fn open_requests(&self, release: ReleaseId, activity: Option<&str>) -> Result<Vec<OpenRequest>, StoreError> {
        let rows = sqlx::query_file!("src/store/sql/select_open_requests.sql", release.0, activity).fetch_all(self.pool()).await?;
        Ok(rows
            .into_iter()
            .map(|row| OpenRequest {
                activity: row.activity_id,
                level: row.level as u32,
                channel_id: ChannelId(to_u64(row.channel_id)),
                message_id: to_u64(row.message_id),
            })
            .collect())
    }

    /// Marks a request closed: its buttons are gone.
    pub async fn close_request(&self, release: ReleaseId, message: u64) -> Result<(), StoreError> {
        sqlx::query_file!("src/store/sql/close_request.sql", release.0, to_i64(message)).execute(self.writer()).await?;
        Ok(())
    }
}
