//! Where "now" comes from. One `Clock` is built with the application and handed to the store, the
//! engine and the workers; nothing else reads the system time for release work. Tests and the demo
//! use a `ManualClock` and move it, so a release scheduled for Thursday starts without anyone
//! waiting until Thursday.

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The shared clock everything holds.
pub type SharedClock = Arc<dyn Clock>;

/// The system's wall clock: production.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system clock, shared.
pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// A clock that stands still until moved: for tests and the demo. Clones share one time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(now)))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }

    /// Sets the clock to `to` (forward or back).
    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The system clock shifted by an offset: time runs at its real pace (card edits coalesce,
/// retries back off, a message waiting for its card looks again a second later) and jumps when
/// told. `trainmaster demo` and the planning tests move it: a release planned for Thursday
/// starts when the clock is set to Thursday, while everything else keeps its pace. (A clock that
/// stands still would leave such short waits pending for ever.)
#[derive(Debug, Clone, Default)]
pub struct ShiftedClock(Arc<Mutex<chrono::Duration>>);

impl ShiftedClock {
    /// A clock that reads `now` at once and runs on from there at real pace.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(now - Utc::now())))
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }

    /// Jumps to `to` (forward or back); it runs on from there.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = to - Utc::now();
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_stands_still_until_moved_and_its_clones_share_the_time() {
        let start = DateTime::parse_from_rfc3339("2026-12-07T09:00:00Z").map(|t| t.with_timezone(&Utc));
        let Ok(start) = start else { panic!("a valid time") };
        let clock = ManualClock::at(start);
        let shared: SharedClock = Arc::new(clock.clone());
        assert_eq!(shared.now(), start);
        clock.advance(chrono::Duration::hours(26));
        assert_eq!(shared.now(), start + chrono::Duration::hours(26));
    }
}
