//! A release's report for post-mortems, computed from its audit trail (the source of truth):
//! how long it took and where the time went (phases, activities, waiting for people versus
//! machines, holds), retries and their reasons, who approved what, and the overrides.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One row of a release's trail, as the report reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrailEntry {
    pub at: DateTime<Utc>,
    /// Who: a person's name, `CI`, or `Trainmaster`.
    pub actor: String,
    pub action: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub release: i64,
    pub name: String,
    pub process: String,
    pub status: String,
    pub started: Option<DateTime<Utc>>,
    pub ended: Option<DateTime<Utc>>,
    /// Seconds from start to end (to `now` while it runs).
    pub total_secs: i64,
    /// Seconds activities waited for people (approvals, manual tasks).
    pub people_secs: i64,
    /// Seconds activities ran on machines (webhooks, checks, child releases).
    pub machine_secs: i64,
    /// Seconds the release was held.
    pub held_secs: i64,
    pub phases: Vec<Span>,
    pub activities: Vec<ActivityReport>,
    pub approvals: Vec<Approval>,
    pub holds: Vec<Hold>,
    /// Skips, retries by people, freeze overrides: what people decided against the plan.
    pub overrides: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub id: String,
    pub status: String,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub secs: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityReport {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub tries: u32,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub secs: i64,
    /// Why each failed try failed, in order.
    pub retries: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub activity: String,
    pub by: String,
    pub approved: bool,
    pub level: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    pub by: String,
    pub reason: String,
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
}

fn text(v: &serde_json::Value, key: &str) -> String {
    match &v[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn secs(start: DateTime<Utc>, end: Option<DateTime<Utc>>, now: DateTime<Utc>) -> i64 {
    (end.unwrap_or(now) - start).num_seconds().max(0)
}

/// The report of release `release` (`name`, `process`, `status` as stored) from its trail, oldest
/// first; `now` ends what is still running.
pub fn report(release: i64, name: &str, process: &str, status: &str, trail: &[TrailEntry], now: DateTime<Utc>) -> Report {
    let started = trail.iter().find(|e| e.action == "release_started").map(|e| e.at);
    let ended = trail.iter().rev().find(|e| e.action == "release_finished").map(|e| e.at);
    let mut phases: Vec<Span> = vec![];
    let mut activities: Vec<ActivityReport> = vec![];
    let mut approvals = vec![];
    let mut holds: Vec<Hold> = vec![];
    let mut overrides = vec![];
    for e in trail {
        let d = &e.detail;
        match e.action.as_str() {
            "phase_started" => phases.push(Span { id: text(d, "phase"), status: "running".into(), start: e.at, end: None, secs: 0 }),
            "phase_finished" | "phase_skipped" => {
                if let Some(p) = phases.iter_mut().rev().find(|p| p.id == text(d, "phase") && p.end.is_none()) {
                    p.end = Some(e.at);
                    p.status = if e.action == "phase_skipped" { "skipped".into() } else { text(d, "status").to_lowercase() };
                }
            }
            "activity_started" => {
                let id = text(d, "activity");
                match activities.iter_mut().find(|a| a.id == id) {
                    // A person's retry: the activity runs again; its span goes on from its first start.
                    Some(a) => {
                        a.end = None;
                        a.tries += 1;
                    }
                    None => activities.push(ActivityReport {
                        id,
                        kind: text(d, "kind"),
                        status: "running".into(),
                        tries: 1,
                        start: e.at,
                        end: None,
                        secs: 0,
                        retries: vec![],
                    }),
                }
            }
            "activity_retry_scheduled" => {
                if let Some(a) = activities.iter_mut().find(|a| a.id == text(d, "activity")) {
                    a.tries += 1;
                    a.retries.push(text(d, "reason"));
                }
            }
            "activity_finished" => {
                if let Some(a) = activities.iter_mut().find(|a| a.id == text(d, "activity")) {
                    a.end = Some(e.at);
                    a.status = text(d, "status").to_lowercase();
                    if a.status == "failed" && !text(d, "reason").is_empty() && a.retries.last() != Some(&text(d, "reason")) {
                        a.retries.push(text(d, "reason"));
                    }
                }
            }
            "approval_given" | "approval_rejected" => approvals.push(Approval {
                activity: text(d, "activity"),
                by: e.actor.clone(),
                approved: e.action == "approval_given",
                level: text(d, "level"),
                at: e.at,
            }),
            "release_held" => holds.push(Hold { by: e.actor.clone(), reason: text(d, "reason"), from: e.at, to: None }),
            "release_resumed" => {
                if let Some(h) = holds.iter_mut().rev().find(|h| h.to.is_none()) {
                    h.to = Some(e.at);
                }
            }
            "activity_skipped" => overrides.push(format!("{} skipped `{}`: {}", e.actor, text(d, "activity"), text(d, "reason"))),
            "activity_retried" => overrides.push(format!("{} retried `{}`", e.actor, text(d, "activity"))),
            "freeze_overridden" => {
                overrides.push(format!("{} started it during the freeze “{}”: {}", e.actor, text(d, "freeze"), text(d, "reason")))
            }
            _ => {}
        }
    }
    for p in &mut phases {
        p.secs = secs(p.start, p.end.or(ended), now);
    }
    for a in &mut activities {
        a.secs = secs(a.start, a.end.or(ended), now);
    }
    let people = |k: &str| matches!(k, "approval" | "manual");
    let people_secs = activities.iter().filter(|a| people(&a.kind)).map(|a| a.secs).sum();
    let machine_secs = activities.iter().filter(|a| matches!(a.kind.as_str(), "webhook" | "check" | "subprocess")).map(|a| a.secs).sum();
    let held_secs = holds.iter().map(|h| secs(h.from, h.to.or(ended), now)).sum();
    Report {
        release,
        name: name.into(),
        process: process.into(),
        status: status.into(),
        started,
        ended,
        total_secs: started.map_or(0, |s| secs(s, ended, now)),
        people_secs,
        machine_secs,
        held_secs,
        phases,
        activities,
        approvals,
        holds,
        overrides,
    }
}

impl Report {
    /// One row per activity, for spreadsheets.
    pub fn activities_csv(&self) -> Result<String, csv::Error> {
        let mut out = csv::Writer::from_writer(vec![]);
        out.write_record(["activity", "kind", "status", "tries", "start", "end", "seconds", "retry_reasons"])?;
        for a in &self.activities {
            out.write_record([
                a.id.clone(),
                a.kind.clone(),
                a.status.clone(),
                a.tries.to_string(),
                a.start.to_rfc3339(),
                a.end.map(|e| e.to_rfc3339()).unwrap_or_default(),
                a.secs.to_string(),
                a.retries.join(" | "),
            ])?;
        }
        let bytes = out.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The report in Markdown, for a post-mortem document.
    pub fn markdown(&self) -> String {
        let d = |s: i64| crate::domain::duration::words(chrono::Duration::seconds(s));
        let mut md = vec![
            format!("# Release {} · {}", self.release, self.name),
            String::new(),
            format!("Process `{}` · {}", self.process, self.status),
            format!(
                "Took {} · waiting for people {} · machines {} · on hold {}",
                d(self.total_secs),
                d(self.people_secs),
                d(self.machine_secs),
                d(self.held_secs)
            ),
            String::new(),
            "## Phases".into(),
            String::new(),
            "| phase | status | took |".into(),
            "| --- | --- | --- |".into(),
        ];
        md.extend(self.phases.iter().map(|p| format!("| {} | {} | {} |", p.id, p.status, d(p.secs))));
        md.extend([
            String::new(),
            "## Activities".into(),
            String::new(),
            "| activity | kind | status | tries | took | why tries failed |".into(),
            "| --- | --- | --- | --- | --- | --- |".into(),
        ]);
        md.extend(self.activities.iter().map(|a| {
            format!("| {} | {} | {} | {} | {} | {} |", a.id, a.kind, a.status, a.tries, d(a.secs), a.retries.join("; ").replace('|', "/"))
        }));
        if !self.approvals.is_empty() {
            md.extend([String::new(), "## Approvals".into(), String::new()]);
            md.extend(self.approvals.iter().map(|a| {
                let level = if a.level.is_empty() { String::new() } else { format!(" (level {})", a.level) };
                format!("- {} {} `{}`{level} at {}", a.by, if a.approved { "approved" } else { "rejected" }, a.activity, a.at.to_rfc3339())
            }));
        }
        if !self.holds.is_empty() {
            md.extend([String::new(), "## Holds".into(), String::new()]);
            md.extend(self.holds.iter().map(|h| format!("- {} held it at {}: {}", h.by, h.from.to_rfc3339(), h.reason)));
        }
        if !self.overrides.is_empty() {
            md.extend([String::new(), "## Overrides".into(), String::new()]);
            md.extend(self.overrides.iter().map(|o| format!("- {o}")));
        }
        md.push(String::new());
        md.join("\n")
    }
}
