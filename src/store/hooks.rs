//! Inbound webhook bookkeeping: callback tokens, replay protection, trigger idempotency, and the
//! counts behind /metrics.

use super::{Store, StoreError, Tx};
use crate::domain::release::ReleaseId;
use chrono::Utc;
use sqlx::Row;

/// A histogram of finished activities' durations, read from the database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivityDurations {
    /// (upper bound in seconds, activities at or under it)
    pub buckets: Vec<(u64, i64)>,
    pub sum_secs: f64,
    pub count: i64,
}

/// The webhook try a callback token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackTarget {
    pub release: ReleaseId,
    pub activity: String,
    pub attempt: u32,
}

impl Store {
    pub async fn insert_callback_token(
        tx: &mut Tx,
        token: &str,
        release: ReleaseId,
        activity: &str,
        attempt: u32,
    ) -> Result<(), StoreError> {
        sqlx::query(include_str!("sql/insert_callback_token.sql"))
            .bind(token)
            .bind(release.0)
            .bind(activity)
            .bind(attempt as i64)
            .bind(Utc::now().to_rfc3339())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn callback_target(tx: &mut Tx, token: &str) -> Result<Option<CallbackTarget>, StoreError> {
        let row = sqlx::query(include_str!("sql/select_callback_token.sql")).bind(token).fetch_optional(&mut **tx).await?;
        row.map(|r| {
            Ok(CallbackTarget {
                release: ReleaseId(r.try_get("release_id")?),
                activity: r.try_get("activity_id")?,
                attempt: r.try_get::<i64, _>("attempt")? as u32,
            })
        })
        .transpose()
    }

    /// Records a signed request's `webhook-id`; false when it was seen before (a replay).
    pub async fn first_sighting(tx: &mut Tx, webhook_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(include_str!("sql/insert_inbound_id.sql"))
            .bind(webhook_id)
            .bind(Utc::now().to_rfc3339())
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn triggered_release(tx: &mut Tx, webhook_id: &str) -> Result<Option<ReleaseId>, StoreError> {
        let id: Option<i64> = sqlx::query_scalar(include_str!("sql/select_trigger.sql")).bind(webhook_id).fetch_optional(&mut **tx).await?;
        Ok(id.map(ReleaseId))
    }

    pub async fn insert_trigger(tx: &mut Tx, webhook_id: &str, release: ReleaseId) -> Result<(), StoreError> {
        sqlx::query(include_str!("sql/insert_trigger.sql"))
            .bind(webhook_id)
            .bind(release.0)
            .bind(Utc::now().to_rfc3339())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Releases by status, for /metrics.
    pub async fn releases_by_status(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(include_str!("sql/count_releases_by_status.sql")).fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get("status")?, r.try_get("n")?))).collect()
    }

    /// Undelivered outbox rows by topic, for /metrics.
    pub async fn outbox_depth(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(include_str!("sql/outbox_depth.sql")).fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get("topic")?, r.try_get("n")?))).collect()
    }

    /// Finished activities' durations as (bucket upper bounds in seconds with cumulative counts,
    /// sum in seconds, count), for /metrics.
    pub async fn activity_durations(&self) -> Result<ActivityDurations, StoreError> {
        let row = sqlx::query(include_str!("sql/activity_duration_buckets.sql")).fetch_one(self.pool()).await?;
        let mut buckets = vec![];
        for (bound, column) in [
            (1, "le_1"),
            (10, "le_10"),
            (60, "le_60"),
            (300, "le_300"),
            (900, "le_900"),
            (3600, "le_3600"),
            (14400, "le_14400"),
            (86400, "le_86400"),
        ] {
            buckets.push((bound, row.try_get::<i64, _>(column)?));
        }
        Ok(ActivityDurations { buckets, sum_secs: row.try_get("sum_secs")?, count: row.try_get("n")? })
    }

    /// Whether the database answers, for /readyz.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(self.pool()).await.is_ok()
    }
}
