//! Insight in the engine: the inventory is written in the transaction that ends a release; the
//! figures are read from it (`domain::insight` decides, the store fetches).

use super::{Engine, EngineError};
use crate::domain::insight::{self, dora, Delivery, Deployed};
use crate::domain::process::Identifies;
use crate::domain::release::Release;
use crate::domain::GuildId;
use crate::store::{DeliveryFilter, Store, StoreError, Tx};
use chrono::{DateTime, Utc};

impl Engine {
    /// Records what `release` delivered, now that it ended: with the versions it replaced known,
    /// so a rollback records the version it went back to.
    pub(super) async fn record_deliveries(&self, tx: &mut Tx, release: &Release) -> Result<(), StoreError> {
        let environment = release.environment().unwrap_or_else(|| "default".into());
        let services = match release.identified(Identifies::Service) {
            s if s.is_empty() => vec![release.process.name.clone()],
            s => s,
        };
        let mut before = std::collections::BTreeMap::new();
        for service in &services {
            if let Some(version) = Store::current_version(tx, release.guild_id, service, &environment).await? {
                before.insert(service.clone(), version);
            }
        }
        let rows = insight::deliveries_of(release, tx.now(), |service, _| before.get(service).cloned());
        Store::record_deliveries(tx, release.guild_id, &rows).await
    }

    /// What runs where in `guild` now (for one service or environment when given).
    pub async fn deployed(&self, guild: GuildId, filter: &DeliveryFilter) -> Result<Vec<Deployed>, EngineError> {
        let history = self.history(guild, filter).await?;
        Ok(insight::current(&history))
    }

    /// Every delivery of `guild` that matches `filter`, oldest first.
    pub async fn history(&self, guild: GuildId, filter: &DeliveryFilter) -> Result<Vec<Delivery>, EngineError> {
        // Four-digit years on both ends: the stored times compare as text.
        let from = DateTime::<Utc>::UNIX_EPOCH;
        let to = chrono::NaiveDate::from_ymd_opt(9999, 12, 31).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc()).unwrap_or(from);
        Ok(self.store.deliveries(guild, filter, from, to).await?)
    }

    /// The four key metrics of `guild` over [from, to) (hotfixes and restores are looked for
    /// up to the failure window past `to`).
    pub async fn dora(
        &self,
        guild: GuildId,
        filter: &DeliveryFilter,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        failure_window: chrono::Duration,
    ) -> Result<dora::Dora, EngineError> {
        let rows = self.store.deliveries(guild, filter, from - failure_window, to + failure_window + chrono::Duration::days(30)).await?;
        Ok(dora::dora(&rows, from, to, failure_window))
    }
}

impl Engine {
    /// Release `id`'s report, from its trail (so far, while it runs).
    pub async fn report(
        &self,
        guild: GuildId,
        id: crate::domain::ReleaseId,
    ) -> Result<crate::domain::insight::report::Report, EngineError> {
        use crate::domain::insight::report::{report, TrailEntry};
        let (release, rows) = self.audit_trail(guild, id).await?;
        let trail: Vec<TrailEntry> = rows
            .into_iter()
            .map(|row| TrailEntry {
                at: DateTime::parse_from_rfc3339(&row.at).map(|t| t.with_timezone(&Utc)).unwrap_or_default(),
                actor: match row.actor["type"].as_str() {
                    Some("user") => row.actor["name"].as_str().unwrap_or("someone").to_string(),
                    Some("ci") => "CI".into(),
                    _ => "Trainmaster".into(),
                },
                action: row.action,
                detail: row.detail,
            })
            .collect();
        Ok(report(release.id.0, &release.name, &release.process.name, release.status.in_words(), &trail, self.now()))
    }
}

impl Engine {
    /// What a board shows for `guild`: its running and held releases, and those planned within a week.
    pub async fn board_releases(&self, guild: GuildId) -> Result<Vec<Release>, EngineError> {
        let ids = self.store.active_releases(guild, self.now() + chrono::Duration::days(7)).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.release_in_any_guild(id).await?);
        }
        Ok(out)
    }

    /// `/release board channel:` — server `guild`'s board goes to `channel` (release managers and
    /// admins), drawn at once.
    pub async fn set_board(
        &self,
        guild: GuildId,
        actor: &crate::domain::principal::Actor,
        channel: crate::domain::ChannelId,
    ) -> Result<(), EngineError> {
        self.access.may_plan(guild, actor, "placing the release board").map_err(crate::domain::release::CommandError::from)?;
        if self.guild_of_channel(channel).is_some_and(|g| g != guild) {
            return Err(EngineError::NotRunnable(format!(
                "channel {channel} is in another server; the board goes in a channel of this one"
            )));
        }
        let mut tx = self.store.begin().await?;
        Store::set_board(&mut tx, guild, channel).await?;
        Store::enqueue_board_redraw(&mut tx, guild).await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.chat_wake.notify_one();
        Ok(())
    }
}
