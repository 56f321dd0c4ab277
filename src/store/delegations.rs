//! Delegations: stored per guild, never deleted (revoking stamps `revoked_at`), read at each
//! decision. Times are stored as RFC 3339 UTC with seconds, so text order is time order.

use super::releases::{to_i64, to_u64};
use super::{corrupt, Store, StoreError, Tx};
use crate::domain::delegation::Delegation;
use crate::domain::principal::Actor;
use crate::domain::UserId;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::Row;

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Delegation, StoreError> {
    let from: Actor = serde_json::from_str(row.try_get("from_json")?).map_err(corrupt)?;
    let until: String = row.try_get("until")?;
    Ok(Delegation {
        id: row.try_get("id")?,
        from,
        to: UserId(to_u64(row.try_get("to_user")?)),
        to_name: row.try_get("to_name")?,
        until: DateTime::parse_from_rfc3339(&until).map_err(corrupt)?.with_timezone(&Utc),
        process: row.try_get("process")?,
        revoked: false,
    })
}

impl Store {
    pub async fn insert_delegation(tx: &mut Tx, guild_id: u64, d: &Delegation, now: DateTime<Utc>) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(include_str!("sql/insert_delegation.sql"))
            .bind(to_i64(guild_id))
            .bind(to_i64(d.from.user.0))
            .bind(serde_json::to_string(&d.from).map_err(corrupt)?)
            .bind(to_i64(d.to.0))
            .bind(&d.to_name)
            .bind(d.process.as_deref())
            .bind(stamp(d.until))
            .bind(stamp(now))
            .fetch_one(&mut **tx)
            .await?;
        Ok(id)
    }

    /// Live delegations in a guild that `user` gave or received.
    pub async fn delegations_of(&self, guild_id: u64, user: UserId, now: DateTime<Utc>) -> Result<Vec<Delegation>, StoreError> {
        let rows = sqlx::query(include_str!("sql/select_delegations.sql"))
            .bind(to_i64(guild_id))
            .bind(to_i64(user.0))
            .bind(to_i64(user.0))
            .bind(stamp(now))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Live delegations in a guild to `user`: whose authority they may act with now.
    pub async fn delegations_to(&self, guild_id: u64, user: UserId, now: DateTime<Utc>) -> Result<Vec<Delegation>, StoreError> {
        let rows = sqlx::query(include_str!("sql/select_delegations.sql"))
            .bind(to_i64(guild_id))
            .bind(Option::<i64>::None) // `from_user = NULL` holds for no row: only those to `user`
            .bind(to_i64(user.0))
            .bind(stamp(now))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Revokes `from`'s live delegations (to `to`, or all); returns those revoked.
    pub async fn revoke_delegations(
        tx: &mut Tx,
        guild_id: u64,
        from: UserId,
        to: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Delegation>, StoreError> {
        let rows = sqlx::query(include_str!("sql/revoke_delegations.sql"))
            .bind(to_i64(guild_id))
            .bind(to_i64(from.0))
            .bind(to.map(|u| to_i64(u.0)))
            .bind(stamp(now))
            .fetch_all(&mut **tx)
            .await?;
        rows.iter().map(from_row).collect()
    }
}
