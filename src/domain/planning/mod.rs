//! Planning: when a release is meant to start (`when`), the windows nothing may start in
//! (`freeze`), the recurring occurrences of a release group (`cadence`) and the overlaps between
//! planned releases (`conflict`). Pure functions over times, time zones and stored rows; the
//! engine fires the timers they ask for.

pub mod cadence;
pub mod conflict;
pub mod freeze;
pub mod when;

pub use freeze::{Freeze, FreezeWindow};

use chrono::{DateTime, Utc};
use conflict::Conflict;
pub use when::{parse_when, WhenError};

/// `t` as people read it in `tz`: `Thu 10 Dec 14:00 CET`.
pub fn local(t: chrono::DateTime<chrono::Utc>, tz: chrono_tz::Tz) -> String {
    t.with_timezone(&tz).format("%a %-d %b %Y %H:%M %Z").to_string()
}

/// What a release's advance shipping notice says beyond the release itself: found by the engine
/// when the notice is drawn.
#[derive(Debug, Clone, Default)]
pub struct AdvanceFacts {
    pub conflicts: Vec<Conflict>,
    /// Freezes the planned window touches: name, start, end.
    pub freezes: Vec<(String, DateTime<Utc>, DateTime<Utc>)>,
    /// The planned window's end (its start plus the planned duration).
    pub until: Option<DateTime<Utc>>,
    /// The card, once the release runs.
    pub card_url: Option<String>,
}

/// A period of a server's plan: what the calendar draws and lists.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub time_zone: chrono_tz::Tz,
    pub entries: Vec<CalendarEntry>,
    /// Freeze windows in the period: name, start, end.
    pub freezes: Vec<(String, DateTime<Utc>, DateTime<Utc>)>,
}

/// One release on the calendar, over its planned window.
#[derive(Debug, Clone)]
pub struct CalendarEntry {
    pub id: crate::domain::ReleaseId,
    pub name: String,
    pub process: String,
    pub status: crate::domain::release::ReleaseStatus,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The releases it conflicts with.
    pub conflicts: Vec<crate::domain::ReleaseId>,
}
