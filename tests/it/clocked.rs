//! A bot whose clock the test moves: planning tests schedule for Thursday and set the clock to
//! Thursday instead of waiting for it. Between jumps it runs at real pace, so short waits (a card
//! edit's gap, a message waiting for its card) still come due.

use super::harness::Harness;
use chrono::{DateTime, Utc};
use trainmaster::app::Settings;
use trainmaster::domain::clock::ShiftedClock;

/// Monday 7 December 2026, 09:00 UTC (10:00 in Berlin): where the planning tests begin.
pub fn monday() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-07T09:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

pub struct Clocked {
    pub h: Harness,
    pub clock: ShiftedClock,
}

impl std::ops::Deref for Clocked {
    type Target = Harness;
    fn deref(&self) -> &Harness {
        &self.h
    }
}

impl std::ops::DerefMut for Clocked {
    fn deref_mut(&mut self) -> &mut Harness {
        &mut self.h
    }
}

impl Clocked {
    /// A bot with `files` whose clock reads `now` at the start, with `tweak` applied too.
    pub async fn start(
        files: &[(&str, &str)],
        now: DateTime<Utc>,
        tweak: impl Fn(&mut Settings) + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        let clock = ShiftedClock::at(now);
        let shared = clock.clone();
        let h = Harness::start_tweaked(files, move |s| {
            s.clock = std::sync::Arc::new(shared.clone());
            tweak(s);
        })
        .await?;
        Ok(Self { h, clock })
    }

    /// Sets the clock to `at` and wakes the bot.
    pub fn set(&self, at: DateTime<Utc>) {
        self.clock.set(at);
        self.h.wake_bot();
    }
}
