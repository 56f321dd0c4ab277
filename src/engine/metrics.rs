//! In-process counters and histograms for /metrics (Prometheus text format). Database-backed
//! gauges (releases by status, outbox depth) are read at scrape time by the HTTP layer.

use crate::domain::release::CallOutcome;
use crate::store::ActivityDurations;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const BOUNDS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; 12],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (bound, bucket) in BOUNDS.iter().zip(&self.buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let buckets = BOUNDS.iter().zip(&self.buckets).map(|(bound, b)| (bound.to_string(), b.load(Ordering::Relaxed)));
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        write_histogram(out, name, help, buckets, sum, self.count.load(Ordering::Relaxed));
    }
}

/// One histogram in Prometheus text: cumulative buckets by upper bound, `+Inf`, sum and count.
fn write_histogram(out: &mut String, name: &str, help: &str, buckets: impl Iterator<Item = (String, u64)>, sum: f64, count: u64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    for (bound, n) in buckets {
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}\n{name}_sum {sum}\n{name}_count {count}");
}

#[derive(Default)]
pub struct Metrics {
    webhook_success: AtomicU64,
    webhook_accepted: AtomicU64,
    webhook_failure: AtomicU64,
    pub webhook_call_seconds: Histogram,
    pub interaction_seconds: Histogram,
    /// Callbacks refused without naming a known try (unknown token): counted, not audited, so
    /// anyone can send them without filling the audit trail.
    unknown_callbacks: AtomicU64,
    /// When a summary of them was last logged (unix seconds).
    unknown_logged_at: AtomicU64,
}

impl Metrics {
    pub fn record_webhook_outcome(&self, outcome: &CallOutcome) {
        let counter = match outcome {
            CallOutcome::Success { .. } => &self.webhook_success,
            CallOutcome::Accepted => &self.webhook_accepted,
            CallOutcome::Failure { .. } => &self.webhook_failure,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a callback to an unknown token; logs the first and then at most one summary a
    /// minute, never one line per request.
    pub fn record_unknown_callback(&self) {
        let now_secs = chrono::Utc::now().timestamp().max(0) as u64;
        let total = self.unknown_callbacks.fetch_add(1, Ordering::Relaxed) + 1;
        let last = self.unknown_logged_at.load(Ordering::Relaxed);
        let due = last == 0 || now_secs >= last + 60;
        if due && self.unknown_logged_at.compare_exchange(last, now_secs.max(1), Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            tracing::warn!(
                total,
                "callbacks to unknown tokens refused (counted in trainmaster_callbacks_refused_total; at most one line a minute)"
            );
        }
    }

    /// The Prometheus exposition, with the gauges read from the database.
    pub fn render(
        &self,
        releases_by_status: &[(String, i64)],
        outbox_depth: &[(String, i64)],
        activities: &ActivityDurations,
        wal_bytes: u64,
    ) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP trainmaster_wal_bytes Size of the database's write-ahead log (kept under 64 MiB).\n# TYPE trainmaster_wal_bytes gauge\ntrainmaster_wal_bytes {wal_bytes}"
        );
        write_histogram(
            &mut out,
            "trainmaster_activity_duration_seconds",
            "From an activity's start to its end, retries and waiting for people included.",
            activities.buckets.iter().map(|(bound, n)| (bound.to_string(), *n as u64)),
            activities.sum_secs,
            activities.count as u64,
        );
        out.push_str("# HELP trainmaster_releases Releases by status.\n# TYPE trainmaster_releases gauge\n");
        for (status, n) in releases_by_status {
            let _ = writeln!(out, "trainmaster_releases{{status=\"{status}\"}} {n}");
        }
        out.push_str("# HELP trainmaster_outbox_depth Side effects not yet delivered, by topic.\n# TYPE trainmaster_outbox_depth gauge\n");
        for topic in ["webhook", "chat"] {
            let n = outbox_depth.iter().find(|(t, _)| t == topic).map(|(_, n)| *n).unwrap_or(0);
            let _ = writeln!(out, "trainmaster_outbox_depth{{topic=\"{topic}\"}} {n}");
        }
        out.push_str(
            "# HELP trainmaster_webhook_attempts_total Webhook tries by outcome.\n# TYPE trainmaster_webhook_attempts_total counter\n",
        );
        for (outcome, counter) in
            [("success", &self.webhook_success), ("accepted", &self.webhook_accepted), ("failure", &self.webhook_failure)]
        {
            let _ = writeln!(out, "trainmaster_webhook_attempts_total{{outcome=\"{outcome}\"}} {}", counter.load(Ordering::Relaxed));
        }
        out.push_str(
            "# HELP trainmaster_callbacks_refused_total Callbacks refused that named no known try.\n# TYPE trainmaster_callbacks_refused_total counter\n",
        );
        let _ = writeln!(
            out,
            "trainmaster_callbacks_refused_total{{reason=\"unknown_token\"}} {}",
            self.unknown_callbacks.load(Ordering::Relaxed)
        );
        self.webhook_call_seconds.render(&mut out, "trainmaster_webhook_call_duration_seconds", "Duration of one webhook try.");
        self.interaction_seconds.render(&mut out, "trainmaster_interaction_seconds", "From receiving a command or click to answering it.");
        out
    }
}
