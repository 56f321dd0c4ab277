//! Planning in the engine: scheduling and taking back planned starts, starting them when they
//! come (fenced by the schedule's generation), freezes from configuration, process files and
//! chat, and conflicts between planned releases. The decisions are the domain's
//! (`domain::planning`, `Release::schedule`); this module loads what they need and saves.

use super::{Engine, EngineError, NewRelease};
use crate::app::GuildSettings;
use crate::domain::access;
use crate::domain::planning::conflict::{self, Conflict};
use crate::domain::planning::freeze::{self, Blocked, Freeze};
use crate::domain::planning::{self, parse_when};
use crate::domain::principal::{Actor, Initiator};
use crate::domain::release::{AuditActor, CommandError, Effect, Notice, Release, ReleaseId, ReleaseStatus, StartTimer};
use crate::domain::{GuildId, Process};
use crate::store::{OutboxItem, Store};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::sync::Arc;

/// A planned start that was saved, with the conflicts accepted on the way.
#[derive(Debug, Clone)]
pub struct Scheduled {
    pub release: Release,
    pub conflicts: Vec<Conflict>,
}

/// How long a release of `process` is planned to take: its group's `duration`, else an hour.
pub fn planned_duration(process: &Process) -> chrono::Duration {
    let d = process.group.as_ref().map_or(std::time::Duration::from_secs(3_600), |g| g.duration.as_duration());
    chrono::Duration::from_std(d).unwrap_or_else(|_| chrono::Duration::hours(1))
}

impl Engine {
    pub fn with_guild_settings(mut self, guilds: impl IntoIterator<Item = (GuildId, GuildSettings)>) -> Self {
        self.guild_settings = Arc::new(guilds.into_iter().collect());
        self
    }

    /// The time zone server `guild` plans in (trainmaster.toml; UTC by default).
    pub fn guild_time_zone(&self, guild: GuildId) -> chrono_tz::Tz {
        self.guild_settings.get(&guild).map_or(chrono_tz::UTC, |g| g.time_zone)
    }

    /// The server's freezes: declared in trainmaster.toml, and added in chat.
    pub async fn server_freezes(&self, guild: GuildId) -> Result<Vec<Freeze>, EngineError> {
        let mut all = self.guild_settings.get(&guild).map(|g| g.freezes.clone()).unwrap_or_default();
        all.extend(self.store.open_freezes(guild).await?);
        Ok(all)
    }

    /// Every freeze that concerns releases of `process` in `guild`.
    pub async fn freezes_for(&self, guild: GuildId, process: &Process) -> Result<Vec<Freeze>, EngineError> {
        let mut all = self.server_freezes(guild).await?;
        all.extend(process.freezes.iter().cloned());
        Ok(all)
    }

    /// The freeze keeping `release` from starting at `at`, if one does.
    pub(super) async fn frozen(&self, release: &Release, at: DateTime<Utc>) -> Result<Option<Blocked>, EngineError> {
        let freezes = self.freezes_for(release.guild_id, &release.process).await?;
        Ok(freeze::blocking(&freezes, at, release.environment().as_deref(), release.process.kind))
    }

    fn process_tz(process: &Process) -> chrono_tz::Tz {
        process.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// The planned releases of `release`'s server whose windows overlap its window from `at` and
    /// share an environment or a service with it.
    async fn conflicts_at(&self, release: &Release, at: DateTime<Utc>) -> Result<Vec<Conflict>, EngineError> {
        let duration = planned_duration(&release.process);
        let mut this = release.clone();
        this.schedule = Some(crate::domain::release::Schedule { at, by: None, generation: 0, occurrence: None });
        let Some(window) = this.planned(duration) else { return Ok(vec![]) };
        // A release planned up to two weeks earlier may still be running into this window.
        let ids = self.store.planned_between(release.guild_id, at - chrono::Duration::days(14), window.to).await?;
        let mut others = vec![];
        for id in ids.into_iter().filter(|id| *id != release.id) {
            let other = self.release_in_any_guild(id).await?;
            if matches!(other.status, ReleaseStatus::NotStarted | ReleaseStatus::Running | ReleaseStatus::OnHold) {
                others.extend(other.planned(planned_duration(&other.process)));
            }
        }
        Ok(conflict::conflicts(&window, &others))
    }

    /// Checks a planned start at `at` for `release`: a freeze refuses it; conflicts refuse it
    /// unless `despite` gives a reason and `actor` may operate the release (its release managers).
    /// Returns what the audit row adds: the conflicts accepted and why.
    async fn check_plan(
        &self,
        actor: &Actor,
        release: &Release,
        at: DateTime<Utc>,
        despite: Option<&str>,
    ) -> Result<(serde_json::Value, Vec<Conflict>), EngineError> {
        let tz = Self::process_tz(&release.process);
        if let Some(blocked) = self.frozen(release, at).await? {
            return Err(EngineError::Frozen(blocked.explain(at, tz)));
        }
        let conflicts = self.conflicts_at(release, at).await?;
        if conflicts.is_empty() {
            return Ok((json!({}), conflicts));
        }
        let listed = conflicts_text(&conflicts);
        let Some(reason) = despite.map(str::trim).filter(|r| !r.is_empty()) else {
            let this = match release.id.0 {
                0 => format!("“{}”", release.name),
                id => format!("release {id} “{}”", release.name),
            };
            return Err(EngineError::Conflicts(format!(
                "{this} at {} overlaps {listed}. A release manager may schedule it anyway: add `despite_conflicts:` with the reason",
                planning::local(at, tz)
            )));
        };
        self.access.may_control(actor, release, access::Control::Operate).map_err(CommandError::from)?;
        let note = json!({
            "conflicts_accepted": conflicts.iter().map(|c| json!({"release": c.with.0, "shared": c.shared})).collect::<Vec<_>>(),
            "reason": reason,
        });
        Ok((note, conflicts))
    }

    /// `/release schedule`: a Draft (or a scheduled release, moved) gets its planned start.
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.user))]
    pub async fn schedule_release(
        &self,
        guild: GuildId,
        actor: &Actor,
        id: ReleaseId,
        when: &str,
        despite: Option<&str>,
    ) -> Result<Scheduled, EngineError> {
        let release = self.release(guild, id).await?;
        self.access.may_control(actor, &release, access::Control::Start).map_err(CommandError::from)?;
        self.check_channels(guild, &release.process)?;
        let now = self.now();
        let at = parse_when(when, Self::process_tz(&release.process), now).map_err(|e| EngineError::When(e.to_string()))?;
        let (note, conflicts) = self.check_plan(actor, &release, at, despite).await?;
        let release = self.transition(guild, id, |r| r.schedule(Some(actor), at, None, note, now)).await?;
        Ok(Scheduled { release, conflicts })
    }

    /// `/release create … at:`: created and scheduled in one commit, or nothing is stored.
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.user))]
    pub async fn create_scheduled(
        &self,
        actor: &Actor,
        new: NewRelease,
        when: &str,
        despite: Option<&str>,
    ) -> Result<Scheduled, EngineError> {
        self.may_create(new.guild_id, actor, &new.process)?;
        let draft = self.draft(Initiator::Person(actor.user), new)?;
        let now = self.now();
        let at = parse_when(when, Self::process_tz(&draft.process), now).map_err(|e| EngineError::When(e.to_string()))?;
        let unsaved = draft.clone().stored(ReleaseId(0), String::new());
        self.access.may_control(actor, &unsaved, access::Control::Start).map_err(CommandError::from)?;
        let (note, conflicts) = self.check_plan(actor, &unsaved, at, despite).await?;
        let mut tx = self.store.begin().await?;
        let mut release = Self::insert_draft(&mut tx, actor.into(), draft).await?;
        let before = release.clone();
        let mut effects = release.schedule(Some(actor), at, None, note, now)?;
        self.save(&mut tx, &before, &release, &mut effects).await?;
        let saved = self.cache.pending(release.id);
        self.commit_confirming(tx, release.id, saved).await?;
        self.wake_for(&effects);
        Ok(Scheduled { release, conflicts })
    }

    /// `/release unschedule`: back to Draft, with a reason.
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.user))]
    pub async fn unschedule_release(&self, guild: GuildId, actor: &Actor, id: ReleaseId, reason: &str) -> Result<Release, EngineError> {
        let access = Arc::clone(&self.access);
        self.transition(guild, id, |r| {
            access.may_control(actor, r, access::Control::Start)?;
            r.unschedule(actor, reason)
        })
        .await
    }

    /// A planned start came due. The release starts as whoever scheduled it, with the checks a
    /// start by hand has (their right to start it, its channels, freezes); a release group's
    /// missed occurrence starts late or is skipped as the group says. A timer of an older
    /// schedule finds another generation and does nothing.
    pub async fn fire_scheduled_start(&self, item: &OutboxItem, start: &StartTimer) -> Result<Option<OutboxItem>, EngineError> {
        let Some(id) = item.release_id else { return Ok(None) };
        let now = self.now();
        let Some(current) = self.release_in_any_guild(id).await.ok() else { return Ok(None) };
        let refusal = self.start_refusal(&current, now).await?;
        let mut tx = self.store.begin().await?;
        if !Store::complete_outbox(&mut tx, item).await? {
            return Ok(None);
        }
        let mut release = self.load_for_update(&mut tx, id).await?.ok_or(EngineError::NotFound(id))?;
        let before = release.clone();
        let fired = match refusal {
            _ if release.schedule.as_ref().is_none_or(|s| s.generation != start.generation)
                || release.status != ReleaseStatus::NotStarted =>
            {
                None
            }
            Some((why, skip)) => Some(Ok(release.scheduled_start_refused(&why, skip))),
            None => release.scheduled_start(start.generation, now),
        };
        let (effects, saved) = match fired {
            Some(Ok(mut effects)) => {
                self.save(&mut tx, &before, &release, &mut effects).await?;
                (effects, self.cache.pending(id))
            }
            Some(Err(e)) => {
                let detail = json!({"why": e.to_string()});
                Store::append_audit(&mut tx, Some(id), &AuditActor::System, "scheduled_start_refused", &detail).await?;
                (vec![], None)
            }
            None => (vec![], None),
        };
        self.commit_claiming_next(tx, id, saved, &effects).await
    }

    /// Why a scheduled release may not start now, and whether it is skipped rather than taken
    /// back to Draft; `None` when it may.
    async fn start_refusal(&self, release: &Release, now: DateTime<Utc>) -> Result<Option<(String, bool)>, EngineError> {
        let Some(schedule) = &release.schedule else { return Ok(None) };
        let tz = Self::process_tz(&release.process);
        if let (Some(group), Some(_)) = (&release.process.group, &schedule.occurrence) {
            let late = now - schedule.at;
            if !group.missed.starts(late, group.duration) {
                let why = format!("it was due {} and is {} late", planning::local(schedule.at, tz), crate::domain::duration::words(late));
                return Ok(Some((why, true)));
            }
        }
        if let Some(actor) = &schedule.by {
            if let Err(denied) = self.access.may_control(actor, release, access::Control::Start) {
                return Ok(Some((format!("{} may no longer start it ({denied})", actor.display_name), false)));
            }
        }
        if let Err(e) = self.check_channels(release.guild_id, &release.process) {
            return Ok(Some((e.to_string(), false)));
        }
        if let Some(blocked) = self.frozen(release, now).await? {
            return Ok(Some((blocked.explain(now, tz), false)));
        }
        Ok(None)
    }

    /// What a release's advance notice says beyond the release: the conflicts and freezes its
    /// planned window touches, and when that window ends.
    pub async fn advance_facts(&self, release: &Release) -> Result<crate::domain::planning::AdvanceFacts, EngineError> {
        let Some(at) = release.schedule.as_ref().map(|s| s.at) else { return Ok(Default::default()) };
        let until = at + planned_duration(&release.process);
        let planned = release.status == ReleaseStatus::NotStarted;
        let conflicts = if planned { self.conflicts_at(release, at).await? } else { vec![] };
        let freezes = self.freezes_for(release.guild_id, &release.process).await?;
        let touched = freezes
            .iter()
            .filter(|f| f.concerns(release.environment().as_deref()))
            .flat_map(|f| f.windows_between(at, until).into_iter().map(|(a, b)| (f.name.clone(), a, b)))
            .collect();
        Ok(crate::domain::planning::AdvanceFacts { conflicts, freezes: touched, until: Some(until), card_url: None })
    }

    /// Server `guild`'s plan over [from, to): its planned releases (of `process` only, when
    /// given), the conflicts between them and the freezes in the period.
    pub async fn calendar(
        &self,
        guild: GuildId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        process: Option<&str>,
    ) -> Result<crate::domain::planning::Calendar, EngineError> {
        use crate::domain::planning::{Calendar, CalendarEntry};
        let ids = self.store.planned_between(guild, from - chrono::Duration::days(14), to).await?;
        let mut releases = vec![];
        for id in ids {
            let r = self.release_in_any_guild(id).await?;
            let duration = planned_duration(&r.process);
            let Some(window) = r.planned(duration) else { continue };
            if window.to > from && process.is_none_or(|p| p == r.process.name) {
                releases.push((r, window));
            }
        }
        let windows: Vec<_> = releases
            .iter()
            .filter(|(r, _)| matches!(r.status, ReleaseStatus::NotStarted | ReleaseStatus::Running | ReleaseStatus::OnHold))
            .map(|(_, w)| w.clone())
            .collect();
        let entries = releases
            .iter()
            .map(|(r, w)| CalendarEntry {
                id: r.id,
                name: r.name.clone(),
                process: r.process.name.clone(),
                status: r.status,
                from: w.from,
                to: w.to,
                conflicts: if windows.contains(w) {
                    conflict::conflicts(w, &windows).into_iter().map(|c| c.with).collect()
                } else {
                    vec![]
                },
            })
            .collect();
        let mut freezes: Vec<Freeze> = self.server_freezes(guild).await?;
        for p in self.processes_for(guild).filter(|p| process.is_none_or(|n| n == p.name)) {
            freezes.extend(p.freezes.iter().cloned());
        }
        let freezes = freezes.iter().flat_map(|f| f.windows_between(from, to).into_iter().map(|(a, b)| (f.name.clone(), a, b))).collect();
        Ok(Calendar { from, to, time_zone: self.guild_time_zone(guild), entries, freezes })
    }

    /// Refuses starting `release` now inside a freeze, unless `override_reason` is given by an
    /// admin: then the effects to add (the override, audited and announced).
    pub(super) async fn freeze_check(
        &self,
        release: &Release,
        actor: Option<&Actor>,
        override_reason: Option<&str>,
    ) -> Result<Vec<Effect>, EngineError> {
        let now = self.now();
        let Some(blocked) = self.frozen(release, now).await? else { return Ok(vec![]) };
        let tz = Self::process_tz(&release.process);
        let reason = override_reason.map(str::trim).filter(|r| !r.is_empty());
        match (actor, reason) {
            (Some(actor), Some(reason)) if self.access.is_admin(actor) => Ok(vec![
                Effect::Audit {
                    actor: actor.into(),
                    action: "freeze_overridden",
                    detail: json!({"freeze": blocked.freeze.name, "reason": reason}),
                },
                Effect::Notify(Notice::FreezeOverridden {
                    by: actor.display_name.clone(),
                    freeze: blocked.freeze.name,
                    reason: reason.into(),
                }),
            ]),
            (Some(_), Some(_)) => Err(EngineError::Frozen(format!("{}; only an admin may override a freeze", blocked.explain(now, tz)))),
            _ => Err(EngineError::Frozen(blocked.explain(now, tz))),
        }
    }
}

/// `release 12 “Week 47” (environment prod)` for each conflict.
pub fn conflicts_text(conflicts: &[Conflict]) -> String {
    conflicts.iter().map(|c| format!("release {} “{}” ({})", c.with, c.with_name, c.shared.join(", "))).collect::<Vec<_>>().join(" and ")
}
