//! Release groups: the planner keeps each group's next `horizon` occurrences created as scheduled
//! releases. It runs at start-up, every minute and whenever the clock moves in tests; each
//! occurrence is claimed by its key in the transaction that creates its release, so overlapping
//! runs and restarts neither lose nor duplicate one. Freezes and admin commands (pause, resume,
//! skip the next) are here too.

use super::{Engine, EngineError, NewRelease, Shutdown};
use crate::domain::planning::cadence;
use crate::domain::planning::freeze::{FreezeOrigin, FreezeSpec};
use crate::domain::planning::Freeze;
use crate::domain::principal::{Actor, Initiator};
use crate::domain::release::{AuditActor, CommandError, ReleaseStatus};
use crate::domain::{GuildId, Process};
use crate::store::{Occurrence, Store, StoreError};
use serde_json::json;
use std::time::Duration;

/// A release group as `/group list` and `/group show` read it.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub process: String,
    pub cadence: String,
    pub time_zone: chrono_tz::Tz,
    pub horizon: u32,
    pub paused: Option<(String, String)>,
    /// The next occurrences the cadence names.
    pub next: Vec<chrono::DateTime<chrono::Utc>>,
    /// The occurrences dealt with from now on, with their releases.
    pub planned: Vec<Occurrence>,
}

impl Engine {
    /// The servers a process's release group runs in: those it is limited to, else the server of
    /// its notices channel (as the gateway reports it), else every server with a default notices
    /// channel in trainmaster.toml.
    pub fn group_guilds(&self, process: &Process) -> Vec<GuildId> {
        if !process.guilds.is_empty() {
            return process.guilds.clone();
        }
        if let Some(channel) = process.notices_channel {
            return self.guild_of_channel(channel).into_iter().collect();
        }
        self.default_notices.keys().copied().collect()
    }

    /// Creates every missing occurrence within each group's horizon; returns how many releases
    /// it created.
    pub async fn plan_groups(&self) -> Result<usize, EngineError> {
        let mut created = 0;
        let processes: Vec<Process> = self.catalog().values().filter(|p| p.group.is_some() && p.cadence.is_some()).cloned().collect();
        for process in processes {
            for guild in self.group_guilds(&process) {
                if self.store.group_paused(guild, &process.name).await?.is_some() {
                    continue;
                }
                created += self.plan_group(guild, &process).await?;
            }
        }
        Ok(created)
    }

    async fn plan_group(&self, guild: GuildId, process: &Process) -> Result<usize, EngineError> {
        let (Some(group), Some(cron)) = (&process.group, &process.cadence) else { return Ok(0) };
        let tz: chrono_tz::Tz = process.time_zone.parse().unwrap_or(chrono_tz::UTC);
        let now = self.now();
        // An occurrence a little in the past is still created (the bot was down over it); the
        // start timer then fires at once and the group's `missed` rule decides.
        let lookback = chrono::Duration::from_std(group.duration.as_duration()).unwrap_or_default().max(chrono::Duration::hours(1));
        let mut created = 0;
        let upcoming = cadence::occurrences(cron, tz, now - lookback, group.horizon as usize + 8);
        let mut ahead = 0;
        for at in upcoming {
            if at > now {
                ahead += 1;
                if ahead > group.horizon {
                    break;
                }
            }
            let key = cadence::occurrence_key(at);
            if self.create_occurrence(guild, process, group, at, &key, tz).await? {
                created += 1;
            }
        }
        Ok(created)
    }

    /// Creates and schedules occurrence `key` in one commit, claiming its key; false when it was
    /// dealt with before. An occurrence that cannot be created (its inputs refused, a freeze) is
    /// claimed without a release and audited, so it is not tried every minute.
    async fn create_occurrence(
        &self,
        guild: GuildId,
        process: &Process,
        group: &cadence::GroupSpec,
        at: chrono::DateTime<chrono::Utc>,
        key: &str,
        tz: chrono_tz::Tz,
    ) -> Result<bool, EngineError> {
        let mut tx = self.store.begin().await?;
        if !Store::claim_occurrence(&mut tx, guild, &process.name, key, None).await? {
            return Ok(false);
        }
        let attempt = async {
            let name = cadence::release_name(&group.name, &process.name, at, tz).map_err(|e| EngineError::NotRunnable(e.to_string()))?;
            let inputs = cadence::release_inputs(group, &process.name, at, tz).map_err(|e| EngineError::NotRunnable(e.to_string()))?;
            let new = NewRelease {
                guild_id: guild,
                process: process.name.clone(),
                name,
                inputs,
                input_set: group.input_set.clone(),
                channel: None,
            };
            let draft = self.draft(Initiator::Group, new)?;
            let unsaved = draft.clone().stored(crate::domain::ReleaseId(0), String::new());
            if let Some(blocked) = self.frozen(&unsaved, at).await? {
                return Err(EngineError::Frozen(blocked.explain(at, tz)));
            }
            Ok(draft)
        };
        let draft = match attempt.await {
            Ok(draft) => draft,
            Err(EngineError::Store(e)) => return Err(e.into()),
            Err(why) => {
                tracing::warn!(process = %process.name, %guild, occurrence = key, why = %why, "a release group occurrence was not created");
                let detail = json!({"process": process.name, "guild": guild.0, "occurrence": key, "why": why.to_string()});
                Store::append_audit(&mut tx, None, &AuditActor::System, "occurrence_not_created", &detail).await?;
                tx.commit().await.map_err(StoreError::from)?;
                return Ok(false);
            }
        };
        let mut release = Self::insert_draft(&mut tx, AuditActor::System, draft).await?;
        Store::set_occurrence_release(&mut tx, guild, &process.name, key, release.id).await?;
        let before = release.clone();
        let mut effects = release.schedule(None, at, Some(key.to_string()), json!({"group": process.name}), tx.now())?;
        self.save(&mut tx, &before, &release, &mut effects).await?;
        let saved = self.cache.pending(release.id);
        self.commit_confirming(tx, release.id, saved).await?;
        self.wake_for(&effects);
        Ok(true)
    }

    /// The release groups server `guild` has.
    pub async fn groups(&self, guild: GuildId) -> Result<Vec<GroupView>, EngineError> {
        let mut out = vec![];
        let processes: Vec<Process> = self.processes_for(guild).filter(|p| p.group.is_some()).cloned().collect();
        for process in processes.iter().filter(|p| self.group_guilds(p).contains(&guild)) {
            out.push(self.group_view(guild, process).await?);
        }
        Ok(out)
    }

    /// One release group of `guild`, by its process's name.
    pub async fn group(&self, guild: GuildId, process: &str) -> Result<GroupView, EngineError> {
        let found = self.process_for(guild, process).filter(|p| p.group.is_some() && self.group_guilds(p).contains(&guild)).cloned();
        let process = found.ok_or_else(|| EngineError::NotRunnable(self.no_such_group(guild, process)))?;
        self.group_view(guild, &process).await
    }

    fn no_such_group(&self, guild: GuildId, name: &str) -> String {
        let groups: Vec<String> = self
            .processes_for(guild)
            .filter(|p| p.group.is_some() && self.group_guilds(p).contains(&guild))
            .map(|p| format!("`{}`", p.name))
            .collect();
        match groups.as_slice() {
            [] => format!("there is no release group `{name}` here; a process becomes one with a `cadence:`"),
            _ => format!("there is no release group `{name}` here; the groups are {}", groups.join(", ")),
        }
    }

    async fn group_view(&self, guild: GuildId, process: &Process) -> Result<GroupView, EngineError> {
        let tz: chrono_tz::Tz = process.time_zone.parse().unwrap_or(chrono_tz::UTC);
        let cron = process.cadence.clone().unwrap_or_default();
        let now = self.now();
        let horizon = process.group.as_ref().map_or(0, |g| g.horizon);
        Ok(GroupView {
            process: process.name.clone(),
            next: cadence::occurrences(&cron, tz, now, 3),
            cadence: cron,
            time_zone: tz,
            horizon,
            paused: self.store.group_paused(guild, &process.name).await?,
            planned: self.store.occurrences(guild, &process.name, &cadence::occurrence_key(now - chrono::Duration::days(1))).await?,
        })
    }

    /// Pauses (`true`) or resumes a group; admins and release managers only. Returns whether it changed.
    pub async fn pause_group(&self, guild: GuildId, actor: &Actor, process: &str, pause: bool) -> Result<bool, EngineError> {
        let view = self.group(guild, process).await?;
        self.may_manage_groups(guild, actor)?;
        let mut tx = self.store.begin().await?;
        let changed = if pause {
            Store::pause_group(&mut tx, guild, &view.process, &actor.display_name).await?
        } else {
            Store::resume_group(&mut tx, guild, &view.process).await?
        };
        if changed {
            let action = if pause { "group_paused" } else { "group_resumed" };
            Store::append_audit(&mut tx, None, &AuditActor::from(actor), action, &json!({"process": view.process, "guild": guild.0}))
                .await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        if changed && !pause {
            self.plan_groups().await?;
        }
        Ok(changed)
    }

    /// Skips the group's next occurrence: its release, when created, ends skipped (its notice
    /// struck through). Returns the release skipped.
    pub async fn skip_next(
        &self,
        guild: GuildId,
        actor: &Actor,
        process: &str,
        reason: &str,
    ) -> Result<crate::domain::Release, EngineError> {
        self.may_manage_groups(guild, actor)?;
        if reason.trim().is_empty() {
            return Err(CommandError::ReasonRequired.into());
        }
        let view = self.group(guild, process).await?;
        for occurrence in &view.planned {
            let Some(id) = occurrence.release else { continue };
            let release = self.release(guild, id).await?;
            if release.status == ReleaseStatus::NotStarted {
                let why = format!("{} skipped this occurrence: {}", actor.display_name, reason.trim());
                return self.transition(guild, id, |r| Ok(r.scheduled_start_refused(&why, true))).await;
            }
        }
        Err(EngineError::NotRunnable(format!("release group `{}` has no planned release to skip yet", view.process)))
    }

    fn may_manage_groups(&self, guild: GuildId, actor: &Actor) -> Result<(), EngineError> {
        Ok(self.access.may_plan(guild, actor, "managing release groups").map_err(CommandError::from)?)
    }

    /// `/freeze add`: an admin freezes the server (or some environments) from `from` to `to`.
    pub async fn add_freeze(&self, guild: GuildId, actor: &Actor, spec: FreezeSpec, reason: &str) -> Result<Freeze, EngineError> {
        self.access.may_plan(guild, actor, "adding freezes").map_err(CommandError::from)?;
        if reason.trim().is_empty() {
            return Err(CommandError::ReasonRequired.into());
        }
        let tz = self.guild_time_zone(guild);
        let freeze = spec.check(tz, FreezeOrigin::Config).map_err(EngineError::NotRunnable)?;
        let mut tx = self.store.begin().await?;
        let freeze = Store::insert_freeze(&mut tx, guild, freeze, &actor.display_name, reason.trim()).await?;
        let detail = json!({"guild": guild.0, "freeze": freeze, "reason": reason.trim()});
        Store::append_audit(&mut tx, None, &AuditActor::from(actor), "freeze_added", &detail).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(freeze)
    }

    /// `/freeze end`: ends a freeze added in chat (declared ones end by editing their file).
    pub async fn end_freeze(&self, guild: GuildId, actor: &Actor, id: i64) -> Result<Freeze, EngineError> {
        self.access.may_plan(guild, actor, "ending freezes").map_err(CommandError::from)?;
        let mut tx = self.store.begin().await?;
        let Some(freeze) = Store::end_freeze(&mut tx, guild, id, &actor.display_name).await? else {
            return Err(EngineError::NotRunnable(format!(
                "there is no freeze {id} added in chat here that is still on; `/freeze list` shows them (declared ones end by editing trainmaster.toml or the process file)"
            )));
        };
        Store::append_audit(
            &mut tx,
            None,
            &AuditActor::from(actor),
            "freeze_ended",
            &json!({"guild": guild.0, "id": id, "name": freeze.name}),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(freeze)
    }
}

/// Plans release groups at start-up, then every minute and when woken (the clock moved), until shutdown.
pub async fn plan_groups_until_stopped(engine: Engine, mut shutdown: Shutdown) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !shutdown.is_stopping() {
        if let Err(e) = engine.plan_groups().await {
            tracing::warn!(error = %e, "cannot plan release groups now; the next run tries again");
        }
        if let Err(e) = engine.plan_digests().await {
            tracing::warn!(error = %e, "cannot queue the weekly digests now; the next run tries again");
        }
        tokio::select! {
            _ = every.tick() => {}
            _ = engine.planner_wake.notified() => {}
            _ = shutdown.stopped() => {}
        }
    }
}
