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
    let mut by_release: std::collections::HashMap<i64, Change> = std::collections::HashMap::with_capacity(history.len());
    for d in history {
        let change = by_release.entry(d.release).or_insert_with(|| Change { release: d.release, first: d, targets: BTreeSet::new() });
        change.targets.insert((d.service.as_str(), d.environment.as_str()));
    }
    let mut all: Vec<&Change> = by_release.values().collect();
    all.sort_by_key(|c| (c.first.delivered_at, c.release));
    // Per service and environment, its changes in time order: hotfixes and restores are found
    // by binary search there, not by scanning every change for every change.
    let mut by_target: BTreeMap<(&str, &str), Vec<&Change>> = BTreeMap::new();
    for c in &all {
        for t in &c.targets {
            by_target.entry(*t).or_default().push(c);
        }
    }
    let after = |list: &[&Change], t: DateTime<Utc>| list.partition_point(|c| c.first.delivered_at <= t);
    let hotfixed = |c: &Change| {
        c.targets.iter().any(|t| {
            let list = by_target.get(t).map(Vec::as_slice).unwrap_or_default();
            list[after(list, c.first.delivered_at)..]
                .iter()
                .take_while(|l| l.first.delivered_at <= c.first.delivered_at + failure_window)
                .any(|l| l.release != c.release && l.first.kind == ReleaseKind::Hotfix)
        })
    };
    let in_period: Vec<&Change> = all.iter().copied().filter(|c| from <= c.first.delivered_at && c.first.delivered_at < to).collect();
    let deploys: Vec<&Change> = in_period.iter().copied().filter(|c| c.first.outcome != Outcome::FailedAfterDelivering).collect();
    let failed: Vec<&Change> = in_period
        .iter()
        .copied()
        .filter(|c| match c.first.outcome {
            Outcome::RolledBack | Outcome::FailedAfterDelivering => true,
            Outcome::Delivered => hotfixed(c),
        })
        .collect();
    // A change restores when it shipped and is not a failed change itself. Per target, the index
    // of the next such change from each position, found once (scanning back), so each restore is
    // one binary search.
    let good: std::collections::HashMap<i64, bool> =
        all.iter().map(|c| (c.release, c.first.outcome == Outcome::Delivered && !hotfixed(c))).collect();
    let next_good: BTreeMap<(&str, &str), Vec<Option<usize>>> = by_target
        .iter()
        .map(|(t, list)| {
            let mut next = vec![None; list.len() + 1];
            for i in (0..list.len()).rev() {
                next[i] = if good.get(&list[i].release).copied().unwrap_or(false) { Some(i) } else { next[i + 1] };
            }
            (*t, next)
        })
        .collect();
    let days = ((to - from).num_seconds() as f64 / 86_400.0).max(1.0 / 24.0);
    let leads: Vec<Duration> = deploys.iter().map(|c| c.first.delivered_at - c.first.created_at).collect();
    let restores: Vec<Duration> = failed
        .iter()
        .filter_map(|f| {
            f.targets
                .iter()
                .filter_map(|t| {
                    let list = by_target.get(t)?;
                    let next = next_good.get(t)?.get(after(list, f.first.delivered_at)).copied().flatten()?;
                    Some(list[next].first.delivered_at - f.first.delivered_at)
                })
                .min()
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
