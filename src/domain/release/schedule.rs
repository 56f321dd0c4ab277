//! Planned starts: a Draft scheduled for a time is NotStarted, complete and checked, and starts by
//! itself at that time as the person who scheduled it (or as its release group). It can be moved,
//! taken back to Draft, or started early; each is audited with who, when and why.

use super::*;
use crate::domain::inputs::InputValue;
use crate::domain::planning::conflict::Planned;
use crate::domain::process::Identifies;

/// When a NotStarted release starts by itself, and as whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub at: DateTime<Utc>,
    /// Who scheduled it: it starts as them, with their roles as they were. `None`: its release group.
    pub by: Option<Actor>,
    /// Counts every (re)schedule: the start timer carries it, so a timer of an older time does nothing.
    pub generation: u32,
    /// The release group occurrence it is (its key), if it is one.
    #[serde(default)]
    pub occurrence: Option<String>,
}

/// The start timer of schedule `generation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartTimer {
    pub at: DateTime<Utc>,
    pub generation: u32,
}

impl StartTimer {
    pub fn key(&self, release: ReleaseId) -> String {
        format!("{release}/scheduled-start/{}", self.generation)
    }
}

impl Release {
    /// Draft or NotStarted → NotStarted at `at`, by `actor` (`None`: the release group). `at` was
    /// read and checked against now, freezes and conflicts by the caller.
    pub fn schedule(
        &mut self,
        actor: Option<&Actor>,
        at: DateTime<Utc>,
        occurrence: Option<String>,
        note: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>, CommandError> {
        self.expect_status(&[ReleaseStatus::Draft, ReleaseStatus::NotStarted], "scheduled")?;
        let previous = self.schedule.as_ref().filter(|_| self.status == ReleaseStatus::NotStarted).map(|s| s.at);
        let generation = self.schedule.as_ref().map_or(1, |s| s.generation + 1);
        let occurrence = occurrence.or_else(|| self.schedule.as_ref().and_then(|s| s.occurrence.clone()));
        self.schedule = Some(Schedule { at, by: actor.cloned(), generation, occurrence });
        self.status = ReleaseStatus::NotStarted;
        let audit_actor = actor.map_or(AuditActor::System, AuditActor::from);
        let mut detail = json!({"at": at.to_rfc3339(), "generation": generation});
        if let Some(previous) = previous {
            detail["from"] = json!(previous.to_rfc3339());
        }
        if let (Some(detail), serde_json::Value::Object(note)) = (detail.as_object_mut(), note) {
            detail.extend(note);
        }
        let action = if previous.is_some() { "release_rescheduled" } else { "release_scheduled" };
        // Nothing is said in the channel yet: the advance notice announces it (and is edited
        // when it moves), the card appears when it starts; the trail records every move.
        let mut fx = vec![Effect::Audit { actor: audit_actor, action, detail }, Effect::StartAt(StartTimer { at, generation })];
        let _ = now;
        self.advance_notice(&mut fx);
        Ok(fx)
    }

    /// NotStarted → Draft: the planned start is taken back.
    pub fn unschedule(&mut self, actor: &Actor, reason: &str) -> Result<Vec<Effect>, CommandError> {
        self.expect_status(&[ReleaseStatus::NotStarted], "unscheduled")?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(CommandError::ReasonRequired);
        }
        let at = self.schedule.as_ref().map(|s| s.at);
        self.status = ReleaseStatus::Draft;
        let mut fx = vec![Effect::Audit {
            actor: actor.into(),
            action: "release_unscheduled",
            detail: json!({"was": at.map(|t| t.to_rfc3339()), "reason": reason}),
        }];
        self.advance_notice(&mut fx);
        Ok(fx)
    }

    /// The planned start came (timer of schedule `generation`): the release starts as whoever
    /// scheduled it. `None` when that schedule is no longer the release's (moved, taken back,
    /// started early): the timer does nothing.
    pub fn scheduled_start(&mut self, generation: u32, now: DateTime<Utc>) -> Option<Result<Vec<Effect>, CommandError>> {
        let schedule = self.schedule.clone().filter(|s| s.generation == generation && self.status == ReleaseStatus::NotStarted)?;
        let late = (now - schedule.at).num_seconds().max(0);
        let (initiator, audit, shown) = match &schedule.by {
            Some(actor) => (Initiator::Person(actor.user), AuditActor::from(actor), format!("{}, as scheduled", actor.display_name)),
            None => (Initiator::Group, AuditActor::System, "its release group".to_string()),
        };
        Some(self.start_as(initiator, audit, shown, now).map(|mut fx| {
            if let Some(Effect::Audit { detail, .. }) = fx.first_mut() {
                detail["scheduled_for"] = json!(schedule.at.to_rfc3339());
                detail["late_by_secs"] = json!(late);
            }
            // Late by more than a moment (the bot was down at its time): the thread says by how much.
            if late > 60 {
                fx.insert(2.min(fx.len()), Effect::Notify(Notice::StartedLate { by_secs: late as u64 }));
            }
            fx
        }))
    }

    /// A scheduled start that may not happen (a freeze now covers it, the scheduler lost the right,
    /// the group skips a missed occurrence): back to Draft, or ended when `skip`, saying why.
    pub fn scheduled_start_refused(&mut self, why: &str, skip: bool) -> Vec<Effect> {
        let at = self.schedule.as_ref().map(|s| s.at);
        let mut fx = vec![Effect::Audit {
            actor: AuditActor::System,
            action: if skip { "occurrence_skipped" } else { "scheduled_start_refused" },
            detail: json!({"scheduled_for": at.map(|t| t.to_rfc3339()), "why": why}),
        }];
        if skip {
            // Said once, by the end message: "Release 7 · Week 51 skipped: it was due …".
            self.status = ReleaseStatus::Aborted;
            self.reason = Some(format!("skipped: {why}"));
            fx.push(Effect::Notify(Notice::ReleaseFinished { status: ReleaseStatus::Aborted, reason: self.reason.clone() }));
        } else {
            fx.push(Effect::Notify(Notice::ScheduledStartRefused { why: why.into() }));
            self.status = ReleaseStatus::Draft;
        }
        self.advance_notice(&mut fx);
        fx
    }

    /// Asks for the advance shipping notice to be posted (when due: `advance` before the start)
    /// or brought up to date at once (rescheduled, started, taken back, aborted), for a process
    /// that has one and a release that was scheduled.
    pub(super) fn advance_notice(&self, fx: &mut Vec<Effect>) {
        let (Some(advance), Some(schedule)) = (self.process.notices_advance, &self.schedule) else { return };
        let ahead = chrono::Duration::from_std(advance.as_duration()).unwrap_or_default();
        let due = (self.status == ReleaseStatus::NotStarted).then(|| schedule.at - ahead);
        fx.push(Effect::AdvanceNotice(AdvanceNotice { due, generation: schedule.generation }));
    }

    /// What an activity collected about `what` (the last one that succeeded wins), else the value
    /// of the input that identifies `what` (or the input named like it).
    pub fn identified(&self, what: Identifies) -> Vec<String> {
        let collected = self.collected(what).last().map(|v| texts(v)).unwrap_or_default();
        if !collected.is_empty() {
            return collected;
        }
        let by_mark = self.process.inputs.iter().find(|i| i.identifies == Some(what)).map(|i| i.name.as_str());
        let fallback: &[&str] = match what {
            Identifies::Environment => &["environment", "env"],
            Identifies::Service => &["services", "service"],
            Identifies::Version => &["version"],
            Identifies::Changes => &["changes"],
        };
        let name = by_mark.or_else(|| fallback.iter().copied().find(|n| self.inputs.0.contains_key(*n)));
        match name.and_then(|n| self.inputs.0.get(n)) {
            Some(InputValue::Text(t)) if !t.trim().is_empty() => vec![t.clone()],
            Some(InputValue::List(items)) => items.clone(),
            _ => vec![],
        }
    }

    /// Where it delivers, when an input says.
    pub fn environment(&self) -> Option<String> {
        self.identified(Identifies::Environment).into_iter().next()
    }

    /// The planned window, for conflicts: from its planned start for `duration`.
    pub fn planned(&self, duration: chrono::Duration) -> Option<Planned> {
        let at = self.schedule.as_ref()?.at;
        Some(Planned {
            id: self.id,
            name: self.name.clone(),
            from: at,
            to: at + duration,
            environment: self.environment(),
            services: self.identified(Identifies::Service),
        })
    }
}

/// A collected output as text: a string, a number, or a list of them (changes' objects by title).
fn texts(value: &serde_json::Value) -> Vec<String> {
    let one = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Object(o) => o.get("title").and_then(|t| t.as_str()).map(str::to_string),
        _ => None,
    };
    match value {
        serde_json::Value::Array(items) => items.iter().filter_map(one).collect(),
        v => one(v).into_iter().collect(),
    }
}
