//! The inventory's history: what each release delivered. Written with the release's end.

use super::releases::to_i64;
use super::{corrupt, Store, StoreError, Tx};
use crate::domain::insight::dora::Shipped;
use crate::domain::insight::{Delivery, Outcome};
use crate::domain::process::ReleaseKind;
use crate::domain::GuildId;
use chrono::{DateTime, Utc};

/// A delivery read back from a row of any query below: each `query_file!` has its own
/// row type, all with the same fields.
macro_rules! delivery {
    ($r:expr) => {
        row(
            $r.release_id,
            $r.process,
            $r.kind,
            $r.service,
            $r.version,
            $r.environment,
            $r.outcome,
            $r.created_at,
            $r.changed_at,
            $r.delivered_at,
            $r.rolled_back_to,
        )
    };
}

/// Which deliveries to read.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub service: Option<String>,
    pub environment: Option<String>,
    pub process: Option<String>,
}

impl Store {
    pub async fn record_deliveries(tx: &mut Tx, guild: GuildId, rows: &[Delivery]) -> Result<(), StoreError> {
        for d in rows {
            sqlx::query_file!(
                "src/store/sql/insert_delivery.sql",
                to_i64(guild.0),
                d.release,
                d.process,
                d.kind.as_str(),
                d.service,
                d.version,
                d.environment,
                d.outcome.as_str(),
                d.created_at.timestamp(),
                d.changed_at.map(|t| t.timestamp()),
                d.delivered_at.timestamp(),
                d.rolled_back_to
            )
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// The version `service` runs in `environment` now, if it was ever delivered there.
    pub async fn current_version(tx: &mut Tx, guild: GuildId, service: &str, environment: &str) -> Result<Option<String>, StoreError> {
        let found = sqlx::query_file_scalar!("src/store/sql/select_current_version.sql", to_i64(guild.0), service, environment)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(found.flatten())
    }

    /// The latest delivery of each service in each environment of `guild` (those of `filter`'s
    /// service and environment when given): what runs where, without reading the whole history.
    pub async fn latest_deliveries(&self, guild: GuildId, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
        let rows = sqlx::query_file!("src/store/sql/select_current.sql", to_i64(guild.0), filter.service, filter.environment)
            .fetch_all(self.pool())
            .await?;
        rows.into_iter().map(|r| delivery!(r)).collect()
    }

    /// Every server's deliveries that ended at or after `from`, with their server.
    pub async fn recent_deliveries(&self, from: DateTime<Utc>) -> Result<Vec<(GuildId, Delivery)>, StoreError> {
        let rows = sqlx::query_file!("src/store/sql/select_recent_deliveries.sql", from.timestamp()).fetch_all(self.pool()).await?;
        rows.into_iter()
            .map(|r| {
                let d = delivery!(r)?;
                Ok((GuildId(super::releases::to_u64(r.guild_id)), d))
            })
            .collect()
    }

    /// What the DORA figures need of the deliveries of `guild` that match `filter` and ended in
    /// [from, to), in no particular order.
    pub async fn shipped(
        &self,
        guild: GuildId,
        filter: &DeliveryFilter,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Shipped>, StoreError> {
        let json = sqlx::query_file_scalar!(
            "src/store/sql/select_shipped.sql",
            to_i64(guild.0),
            filter.service,
            filter.environment,
            filter.process,
            from.timestamp(),
            to.timestamp()
        )
        .fetch_one(self.pool())
        .await?;
        let rows: Vec<ShippedRow> = serde_json::from_str(&json).map_err(|e| corrupt(format!("deliveries as JSON: {e}")))?;
        rows.into_iter().map(shipped).collect()
    }

    /// The deliveries of `guild` that match `filter`, ended in [from, to), oldest first.
    pub async fn deliveries(
        &self,
        guild: GuildId,
        filter: &DeliveryFilter,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Delivery>, StoreError> {
        let rows = sqlx::query_file!(
            "src/store/sql/select_deliveries.sql",
            to_i64(guild.0),
            filter.service,
            filter.environment,
            filter.process,
            from.timestamp(),
            to.timestamp()
        )
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(|r| delivery!(r)).collect()
    }
}

/// A row of `select_shipped.sql`'s JSON: release, kind, service, environment, outcome, began, ended.
type ShippedRow = (i64, String, String, String, String, i64, i64);

fn shipped(r: ShippedRow) -> Result<Shipped, StoreError> {
    let (release, kind, service, environment, outcome, began, ended) = r;
    let time = |t: i64| DateTime::from_timestamp(t, 0).ok_or_else(|| corrupt(format!("time {t}")));
    Ok(Shipped {
        release,
        kind: ReleaseKind::parse(&kind).ok_or_else(|| corrupt(format!("release kind {kind}")))?,
        service,
        environment,
        outcome: Outcome::parse(&outcome).ok_or_else(|| corrupt(format!("outcome {outcome}")))?,
        began: time(began)?,
        ended: time(ended)?,
    })
}

/// A stored delivery row read back.
#[allow(clippy::too_many_arguments)]
fn row(
    release: i64,
    process: String,
    kind: String,
    service: String,
    version: String,
    environment: String,
    outcome: String,
    created_at: i64,
    changed_at: Option<i64>,
    delivered_at: i64,
    rolled_back_to: Option<String>,
) -> Result<Delivery, StoreError> {
    let time = |t: i64| DateTime::from_timestamp(t, 0).ok_or_else(|| corrupt(format!("time {t}")));
    Ok(Delivery {
        release,
        process,
        kind: ReleaseKind::parse(&kind).ok_or_else(|| corrupt(format!("release kind {kind}")))?,
        service,
        version,
        environment,
        outcome: Outcome::parse(&outcome).ok_or_else(|| corrupt(format!("outcome {outcome}")))?,
        created_at: time(created_at)?,
        changed_at: changed_at.map(time).transpose()?,
        delivered_at: time(delivered_at)?,
        rolled_back_to,
    })
}
