//! Delegations: stored per guild, never deleted (revoking stamps `revoked_at`), read at each
//! decision. Times are stored as RFC 3339 UTC with seconds, so text order is time order.

use super::releases::{to_i64, to_u64};
use super::{corrupt, Store, StoreError, Tx};
use crate::domain::delegation::Delegation;
use crate::domain::principal::Actor;
use crate::domain::{GuildId, UserId};
use chrono::{DateTime, SecondsFormat, Utc};

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A delegation as its queries return it (`select_delegations.sql`, `revoke_delegations.sql`).
struct DelegationRow {
    id: i64,
    from_json: String,
    to_user: i64,
    to_name: String,
    process: Option<String>,
    until: String,
}

impl DelegationRow {
    fn read(self) -> Result<Delegation, StoreError> {
        let from: Actor = serde_json::from_str(&self.from_json).map_err(corrupt)?;
        Ok(Delegation {
            id: self.id,
            from,
            to: UserId(to_u64(self.to_user)),
            to_name: self.to_name,
            until: DateTime::parse_from_rfc3339(&self.until).map_err(corrupt)?.with_timezone(&Utc),
            process: self.process,
            revoked: false,
        })
    }
}

impl Store {
    pub async fn insert_delegation(tx: &mut Tx, guild_id: GuildId, d: &Delegation, now: DateTime<Utc>) -> Result<i64, StoreError> {
        let from_json = serde_json::to_string(&d.from).map_err(corrupt)?;
        let id = sqlx::query_file_scalar!(
            "src/store/sql/insert_delegation.sql",
            to_i64(guild_id.0),
            to_i64(d.from.user.0),
            from_json,
            to_i64(d.to.0),
            d.to_name,
            d.process,
            stamp(d.until),
            stamp(now)
        )
        .fetch_one(&mut **tx)
        .await?;
        Ok(id)
    }

    /// Live delegations in a guild that `user` gave or received.
    pub async fn delegations_of(&self, guild_id: GuildId, user: UserId, now: DateTime<Utc>) -> Result<Vec<Delegation>, StoreError> {
        let user = Some(to_i64(user.0));
        let rows = sqlx::query_file_as!(DelegationRow, "src/store/sql/select_delegations.sql", to_i64(guild_id.0), user, user, stamp(now))
            .fetch_all(self.pool())
            .await?;
        rows.into_iter().map(DelegationRow::read).collect()
    }

    /// Live delegations in a guild to `user`: whose authority they may act with now.
    pub async fn delegations_to(&self, guild_id: GuildId, user: UserId, now: DateTime<Utc>) -> Result<Vec<Delegation>, StoreError> {
        // `from_user = NULL` holds for no row: only those to `user`.
        let (from, to) = (None::<i64>, Some(to_i64(user.0)));
        let rows = sqlx::query_file_as!(DelegationRow, "src/store/sql/select_delegations.sql", to_i64(guild_id.0), from, to, stamp(now))
            .fetch_all(self.pool())
            .await?;
        rows.into_iter().map(DelegationRow::read).collect()
    }

    /// Revokes `from`'s live delegations (to `to`, or all); returns those revoked.
    pub async fn revoke_delegations(
        tx: &mut Tx,
        guild_id: GuildId,
        from: UserId,
        to: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Delegation>, StoreError> {
        let rows = sqlx::query_file_as!(
            DelegationRow,
            "src/store/sql/revoke_delegations.sql",
            to_i64(guild_id.0),
            to_i64(from.0),
            to.map(|u| to_i64(u.0)),
            stamp(now)
        )
        .fetch_all(&mut **tx)
        .await?;
        rows.into_iter().map(DelegationRow::read).collect()
    }
}
