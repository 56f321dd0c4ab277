//! The four key metrics over a period, from the inventory's history (one row per service a
//! release delivered). The definitions, also in the README and `/metrics dora`'s help:
//! - a **deployment** is a release that reached its environment: it shipped (fully or partly),
//!   or it delivered and was then rolled back; counted once per release;
//! - **lead time** runs from the release's creation (where its change began) to its end;
//! - a **failed change** is a deployment that was rolled back, a release that failed after a
//!   deploy step succeeded, or a deployment followed within `failure_window` (default 7 days) by a
//!   hotfix release to the same environment and service; the **change failure rate** is failed
//!   changes over changes (deployments and releases that failed after delivering);
//! - **time to restore** runs from a failed change's end to the next shipped deployment of the
//!   same service and environment.

use super::{Delivery, Outcome};
use crate::domain::process::ReleaseKind;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The four figures over [from, to).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dora {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub deployments: usize,
    /// Deployments per day over the period.
    pub per_day: f64,
    /// Median lead time, when there were deployments.
    pub lead_time: Option<Duration>,
    pub changes: usize,
    pub failed_changes: usize,
    /// Failed changes over changes, 0 to 1; `None` without changes.
    pub failure_rate: Option<f64>,
    /// Median time to restore, when a failed change was restored in the period.
    pub time_to_restore: Option<Duration>,
}

pub const DEFAULT_FAILURE_WINDOW: i64 = 7;

/// One release's change, from its delivery rows.
#[derive(Debug, Clone)]
struct Change<'a> {
    release: i64,
    first: &'a Delivery,
    targets: BTreeSet<(&'a str, &'a str)>,
}

/// The figures for `history` (rows of any period; those ending in [from, to) count, later hotfixes
/// and restores are looked at beyond `to`) for one process and environment when given.
pub fn dora(history: &[Delivery], from: DateTime<Utc>, to: DateTime<Utc>, failure_window: Duration) -> Dora {
    let mut by_release: BTreeMap<i64, Change> = BTreeMap::new();
    for d in history {
        let change = by_release.entry(d.release).or_insert_with(|| Change { release: d.release, first: d, targets: BTreeSet::new() });
        change.targets.insert((d.service.as_str(), d.environment.as_str()));
    }
    let mut all: Vec<&Change> = by_release.values().collect();
    all.sort_by_key(|c| (c.first.delivered_at, c.release));
    let in_period: Vec<&Change> = all.iter().copied().filter(|c| from <= c.first.delivered_at && c.first.delivered_at < to).collect();
    let deploys: Vec<&Change> = in_period.iter().copied().filter(|c| c.first.outcome != Outcome::FailedAfterDelivering).collect();
    let failed: Vec<&Change> = in_period
        .iter()
        .copied()
        .filter(|c| match c.first.outcome {
            Outcome::RolledBack | Outcome::FailedAfterDelivering => true,
            Outcome::Delivered => all.iter().any(|later| {
                later.release != c.release
                    && later.first.kind == ReleaseKind::Hotfix
                    && later.first.delivered_at > c.first.delivered_at
                    && later.first.delivered_at <= c.first.delivered_at + failure_window
                    && later.targets.intersection(&c.targets).next().is_some()
            }),
        })
        .collect();
    let days = ((to - from).num_seconds() as f64 / 86_400.0).max(1.0 / 24.0);
    let leads: Vec<Duration> = deploys.iter().map(|c| c.first.delivered_at - c.first.created_at).collect();
    let restores: Vec<Duration> = failed
        .iter()
        .filter_map(|f| {
            all.iter()
                .find(|next| {
                    next.first.outcome == Outcome::Delivered
                        && next.first.delivered_at > f.first.delivered_at
                        && next.targets.intersection(&f.targets).next().is_some()
                        && !failed.iter().any(|x| x.release == next.release)
                })
                .map(|next| next.first.delivered_at - f.first.delivered_at)
        })
        .collect();
    Dora {
        from,
        to,
        deployments: deploys.len(),
        per_day: deploys.len() as f64 / days,
        lead_time: median(leads),
        changes: in_period.len(),
        failed_changes: failed.len(),
        failure_rate: (!in_period.is_empty()).then(|| failed.len() as f64 / in_period.len() as f64),
        time_to_restore: median(restores),
    }
}

/// The middle value (the lower of the two middles for an even count).
fn median(mut values: Vec<Duration>) -> Option<Duration> {
    values.sort();
    values.get(values.len().saturating_sub(1) / 2).copied()
}
