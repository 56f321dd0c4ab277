//! Inbound webhook bookkeeping: callback tokens, replay protection, trigger idempotency, and the
//! counts behind /metrics.

use super::{Store, StoreError, Tx};
use crate::domain::release::ReleaseId;

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
        sqlx::query_file!("src/store/sql/insert_callback_token.sql", token, release.0, activity, i64::from(attempt), tx.now().to_rfc3339())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn callback_target(tx: &mut Tx, token: &str) -> Result<Option<CallbackTarget>, StoreError> {
        let row = sqlx::query_file!("src/store/sql/select_callback_token.sql", token).fetch_optional(&mut **tx).await?;
        Ok(row.map(|r| CallbackTarget { release: ReleaseId(r.release_id), activity: r.activity_id, attempt: r.attempt as u32 }))
    }

    /// Records a signed request's `webhook-id`; false when it was seen before (a replay).
    pub async fn first_sighting(tx: &mut Tx, webhook_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query_file!("src/store/sql/insert_inbound_id.sql", webhook_id, tx.now().to_rfc3339()).execute(&mut **tx).await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn triggered_release(tx: &mut Tx, webhook_id: &str) -> Result<Option<ReleaseId>, StoreError> {
        let id = sqlx::query_file_scalar!("src/store/sql/select_trigger.sql", webhook_id).fetch_optional(&mut **tx).await?;
        Ok(id.map(ReleaseId))
    }

    pub async fn insert_trigger(tx: &mut Tx, webhook_id: &str, release: ReleaseId) -> Result<(), StoreError> {
        sqlx::query_file!("src/store/sql/insert_trigger.sql", webhook_id, release.0, tx.now().to_rfc3339()).execute(&mut **tx).await?;
        Ok(())
    }

    /// Releases by status, for /metrics.
    pub async fn releases_by_status(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query_file!("src/store/sql/count_releases_by_status.sql").fetch_all(self.pool()).await?;
        Ok(rows.into_iter().map(|r| (r.status, r.n)).collect())
    }

    /// Undelivered outbox rows by topic, for /metrics.
    pub async fn outbox_depth(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query_file!("src/store/sql/outbox_depth.sql").fetch_all(self.pool()).await?;
        Ok(rows.into_iter().map(|r| (r.topic, r.n)).collect())
    }

    /// Finished activities' durations as (bucket upper bounds in seconds with cumulative counts,
    /// sum in seconds, count), for /metrics.
    pub async fn activity_durations(&self) -> Result<ActivityDurations, StoreError> {
        let row = sqlx::query_file!("src/store/sql/activity_duration_buckets.sql").fetch_one(self.pool()).await?;
        let buckets = vec![
            (1, row.le_1),
            (10, row.le_10),
            (60, row.le_60),
            (300, row.le_300),
            (900, row.le_900),
            (3600, row.le_3600),
            (14400, row.le_14400),
            (86400, row.le_86400),
        ];
        Ok(ActivityDurations { buckets, sum_secs: row.sum_secs, count: row.n })
    }

    /// Whether writes go through, for /readyz: the workers' last write did not fail (or one has
    /// succeeded since), and a probe writes one row and commits, as every transition must (a
    /// read-only file fails it). Waits at most 2 s for the writer (a queue that long is not ready).
    pub async fn write_probe(&self) -> Result<(), String> {
        if let Some(failure) = self.write_failure() {
            return Err(failure);
        }
        let probe = async {
            let mut tx = self.begin().await?;
            sqlx::query_file!("src/store/sql/write_probe.sql", tx.now_ms()).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<(), StoreError>(())
        };
        match tokio::time::timeout(std::time::Duration::from_secs(2), probe).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("the writer is busy for more than 2 s".into()),
        }
    }
}
