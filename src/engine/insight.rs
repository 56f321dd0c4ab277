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
        let latest = self.store.latest_deliveries(guild, filter).await?;
        Ok(insight::current(&latest))
    }

    /// Every delivery of `guild` that matches `filter`, oldest first.
    pub async fn history(&self, guild: GuildId, filter: &DeliveryFilter) -> Result<Vec<Delivery>, EngineError> {
        // Four-digit years on both ends: the stored times compare as text.
        let from = DateTime::<Utc>::UNIX_EPOCH;
        let to = chrono::NaiveDate::from_ymd_opt(9999, 12, 31).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc()).unwrap_or(from);
        Ok(self.store.deliveries(guild, filter, from, to).await?)
    }

    /// The figures over [from, to) and their trend bucket by bucket (at most `max` buckets), from
    /// one read of the history.
    pub async fn dora_trend(
        &self,
        guild: GuildId,
        filter: &DeliveryFilter,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        bucket: chrono::Duration,
        max: usize,
        failure_window: chrono::Duration,
    ) -> Result<(dora::Dora, Vec<dora::Dora>), EngineError> {
        let judged = self.judged(guild, filter, from, to, failure_window).await?;
        Ok((dora::figures(&judged, from, to), dora::trend(&judged, from, to, bucket, max)))
    }

    /// The changes around [from, to), judged: a failure window either side, so a hotfix or a
    /// restore after the end is seen and an earlier change's hotfix is not taken for a new one.
    async fn judged(
        &self,
        guild: GuildId,
        filter: &DeliveryFilter,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        failure_window: chrono::Duration,
    ) -> Result<Vec<dora::Judged>, EngineError> {
        let rows = self.store.shipped(guild, filter, from - failure_window, to + failure_window).await?;
        Ok(dora::judge(&rows, failure_window))
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

/// How long ended releases stay before they are archived, when a server does not say.
pub const DEFAULT_RETENTION_DAYS: i64 = 365;

impl Engine {
    /// Archives, in every server, the releases that ended more than its retention ago (one audit
    /// row per server naming them). Returns how many were archived.
    pub async fn archive_ended(&self) -> Result<usize, EngineError> {
        let mut archived = 0;
        for guild in self.store.guilds_with_ended().await? {
            let retention =
                self.guild_settings.get(&guild).and_then(|g| g.retention).unwrap_or(chrono::Duration::days(DEFAULT_RETENTION_DAYS));
            let mut tx = self.store.begin().await?;
            let cutoff = tx.now() - retention;
            let ids = Store::archive_ended(&mut tx, guild, cutoff).await?;
            if !ids.is_empty() {
                let detail = serde_json::json!({"guild": guild.0, "releases": ids.iter().map(|i| i.0).collect::<Vec<_>>(), "ended_before": cutoff.to_rfc3339()});
                Store::append_audit(&mut tx, None, &crate::domain::release::AuditActor::System, "releases_archived", &detail).await?;
            }
            tx.commit().await.map_err(StoreError::from)?;
            for id in &ids {
                self.cache.forget(*id);
            }
            archived += ids.len();
        }
        Ok(archived)
    }

    /// Deletes an archived release: admins only, with a reason. Its audit rows stay and a
    /// tombstone row records what it was, so `audit verify` still walks an unbroken chain.
    pub async fn delete_archived(
        &self,
        guild: GuildId,
        actor: &crate::domain::principal::Actor,
        id: crate::domain::ReleaseId,
        reason: &str,
    ) -> Result<Release, EngineError> {
        use crate::domain::release::{AuditActor, CommandError};
        if !self.access.is_admin(actor) {
            return Err(EngineError::NotRunnable("only an admin may delete an archived release".into()));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(CommandError::ReasonRequired.into());
        }
        let mut tx = self.store.begin().await?;
        let release = Store::load_release(&mut tx, id).await?.filter(|r| r.guild_id == guild).ok_or(EngineError::NotFound(id))?;
        let detail = serde_json::json!({"name": release.name, "process": release.process.name, "status": release.status, "inputs": release.inputs, "reason": reason, "tombstone": true});
        Store::append_audit(&mut tx, Some(id), &AuditActor::from(actor), "release_deleted", &detail).await?;
        if !Store::delete_archived(&mut tx, id).await? {
            return Err(EngineError::NotRunnable(format!(
                "release {id} is not archived; only Drafts and archived releases can be deleted"
            )));
        }
        tx.commit().await.map_err(StoreError::from)?;
        self.cache.forget(id);
        Ok(release)
    }

    /// Whether release `id` is archived.
    pub async fn is_archived(&self, id: crate::domain::ReleaseId) -> Result<bool, EngineError> {
        let mut tx = self.store.read().await?;
        Ok(Store::archived_at(&mut tx, id).await?.is_some())
    }
}

/// Archives what ended longer ago than each server keeps, at start-up and then every hour.
pub async fn archive_until_stopped(engine: Engine, mut shutdown: super::Shutdown) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3_600));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !shutdown.is_stopping() {
        tokio::select! {
            _ = every.tick() => {
                match engine.archive_ended().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(archived = n, "archived releases past their server's retention"),
                    Err(e) => tracing::warn!(error = %e, "cannot archive ended releases now; the next run tries again"),
                }
            }
            _ = shutdown.stopped() => {}
        }
    }
}

impl Engine {
    /// The four figures over the last 30 days per server, process and environment, as
    /// Prometheus gauges (appended to `GET /metrics`).
    pub async fn dora_gauges(&self) -> Result<String, EngineError> {
        use std::fmt::Write as _;
        let window = chrono::Duration::days(dora::DEFAULT_FAILURE_WINDOW);
        let to = self.now();
        let from = to - chrono::Duration::days(30);
        let rows = self.store.recent_deliveries(from - window).await?;
        let mut groups: std::collections::BTreeMap<(GuildId, String, String), Vec<Delivery>> = Default::default();
        for (guild, d) in rows {
            groups.entry((guild, d.process.clone(), d.environment.clone())).or_default().push(d);
        }
        let mut out = String::new();
        let help = [
            ("trainmaster_dora_deployments_per_day", "Deployments a day over the last 30 days (see the README for the definitions)."),
            ("trainmaster_dora_lead_time_seconds", "Median lead time for changes over the last 30 days."),
            ("trainmaster_dora_change_failure_rate", "Failed changes over changes in the last 30 days, 0 to 1."),
            ("trainmaster_dora_time_to_restore_seconds", "Median time to restore over the last 30 days."),
        ];
        let figures: Vec<_> = groups.iter().map(|(k, rows)| (k, dora::dora(rows, from, to, window))).collect();
        for (i, (name, text)) in help.iter().enumerate() {
            let _ = writeln!(out, "# HELP {name} {text}\n# TYPE {name} gauge");
            for ((guild, process, env), f) in &figures {
                let value = match i {
                    0 => Some(f.per_day),
                    1 => f.lead_time.map(|d| d.num_seconds() as f64),
                    2 => f.failure_rate,
                    _ => f.time_to_restore.map(|d| d.num_seconds() as f64),
                };
                if let Some(v) = value {
                    let label = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
                    let _ = writeln!(out, "{name}{{guild=\"{guild}\",process=\"{}\",environment=\"{}\"}} {v}", label(process), label(env));
                }
            }
        }
        Ok(out)
    }
}

impl Engine {
    /// Queues each server's digest whose time came within the last day (once: its key), so a
    /// restart neither loses nor repeats one; an older one is not posted late.
    pub async fn plan_digests(&self) -> Result<usize, EngineError> {
        let now = self.now();
        let mut queued = 0;
        for (guild, settings) in self.guild_settings.iter() {
            let Some((channel, cron)) = &settings.digest else { continue };
            let Ok(cron) = cron.parse::<croner::Cron>() else { continue };
            let Ok(at) = cron.find_previous_occurrence(&now.with_timezone(&settings.time_zone), true) else { continue };
            let at = at.with_timezone(&Utc);
            if now - at > chrono::Duration::days(1) {
                continue;
            }
            let mut tx = self.store.begin().await?;
            let fresh =
                crate::store::enqueue_digest(&mut tx, crate::store::DigestPost { guild_id: *guild, channel_id: *channel, at }).await?;
            tx.commit().await.map_err(StoreError::from)?;
            if fresh {
                queued += 1;
                self.chat_wake.notify_one();
            }
        }
        Ok(queued)
    }

    /// The digest of the week before `at`: its deployments and the four figures beside the week
    /// before's.
    pub async fn digest(&self, guild: GuildId, at: DateTime<Utc>) -> Result<(dora::Dora, dora::Dora, Vec<Delivery>), EngineError> {
        let week = chrono::Duration::days(7);
        let window = chrono::Duration::days(dora::DEFAULT_FAILURE_WINDOW);
        let all = DeliveryFilter::default();
        let judged = self.judged(guild, &all, at - week - week, at, window).await?;
        let (this, before) = (dora::figures(&judged, at - week, at), dora::figures(&judged, at - week - week, at - week));
        let shipped = self.store.deliveries(guild, &all, at - week, at).await?;
        Ok((this, before, shipped))
    }
}
