//! The inventory's history: what each release delivered. Written with the release's end.

use super::planning::sortable;
use super::releases::to_i64;
use super::{corrupt, Store, StoreError, Tx};
use crate::domain::insight::{Delivery, Outcome};
use crate::domain::process::ReleaseKind;
use crate::domain::GuildId;
use chrono::{DateTime, Utc};

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
                sortable(d.created_at),
                sortable(d.delivered_at),
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
            sortable(from),
            sortable(to)
        )
        .fetch_all(self.pool())
        .await?;
        let time = |t: &str| DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&Utc)).map_err(corrupt);
        rows.into_iter()
            .map(|r| {
                Ok(Delivery {
                    release: r.release_id,
                    process: r.process,
                    kind: ReleaseKind::parse(&r.kind).ok_or_else(|| corrupt(format!("release kind {}", r.kind)))?,
                    service: r.service,
                    version: r.version,
                    environment: r.environment,
                    outcome: Outcome::parse(&r.outcome).ok_or_else(|| corrupt(format!("outcome {}", r.outcome)))?,
                    created_at: time(&r.created_at)?,
                    delivered_at: time(&r.delivered_at)?,
                    rolled_back_to: r.rolled_back_to,
                })
            })
            .collect()
    }
}
