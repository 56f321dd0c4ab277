//! Planning: when a release is meant to start (`when`), the windows nothing may start in
//! (`freeze`), the recurring occurrences of a release group (`cadence`) and the overlaps between
//! planned releases (`conflict`). Pure functions over times, time zones and stored rows; the
//! engine fires the timers they ask for.

pub mod cadence;
pub mod conflict;
pub mod freeze;
pub mod when;

pub use freeze::{Freeze, FreezeWindow};
pub use when::{parse_when, WhenError};

/// `t` as people read it in `tz`: `Thu 10 Dec 14:00 CET`.
pub fn local(t: chrono::DateTime<chrono::Utc>, tz: chrono_tz::Tz) -> String {
    t.with_timezone(&tz).format("%a %-d %b %Y %H:%M %Z").to_string()
}
