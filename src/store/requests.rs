//! The messages that ask people for something, kept so they can be closed when nobody needs an
//! answer any more (see migration 0007).

use super::releases::to_i64;
use super::{Store, StoreError};
use crate::domain::release::ReleaseId;
use sqlx::Row;

/// A request message still showing its buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRequest {
    pub activity: String,
    pub level: u32,
    pub channel_id: u64,
    pub message_id: u64,
}

impl Store {
    /// Remembers a posted request (an approval level's, a manual task's).
    pub async fn record_request(
        &self,
        release: ReleaseId,
        activity: &str,
        level: u32,
        channel: u64,
        message: u64,
    ) -> Result<(), StoreError> {
        sqlx::query(include_str!("sql/insert_request_message.sql"))
            .bind(release.0)
            .bind(activity)
            .bind(i64::from(level))
            .bind(to_i64(channel))
            .bind(to_i64(message))
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// The release's requests still open, of `activity` only when given.
    pub async fn open_requests(&self, release: ReleaseId, activity: Option<&str>) -> Result<Vec<OpenRequest>, StoreError> {
        let rows = sqlx::query(include_str!("sql/select_open_requests.sql")).bind(release.0).bind(activity).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                Ok(OpenRequest {
                    activity: row.try_get("activity_id")?,
                    level: row.try_get::<i64, _>("level")? as u32,
                    channel_id: row.try_get::<i64, _>("channel_id")? as u64,
                    message_id: row.try_get::<i64, _>("message_id")? as u64,
                })
            })
            .collect()
    }

    /// Marks a request closed: its buttons are gone.
    pub async fn close_request(&self, release: ReleaseId, message: u64) -> Result<(), StoreError> {
        sqlx::query(include_str!("sql/close_request.sql")).bind(release.0).bind(to_i64(message)).execute(self.writer()).await?;
        Ok(())
    }
}
