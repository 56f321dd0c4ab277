//! The four key metrics over a period, from the inventory's history (one row per service a
//! release delivered). The definitions, also in the README and `/metrics dora`'s help:
//! - a **deployment** is a release that reached its environment: it shipped (fully or partly),
//!   or it delivered and was then rolled back; counted once per release;
//! - **lead time** runs from the earliest change time the release carries (the times of the
//!   changes an activity marked `collects: changes` reported) to its end; without change times,
//!   from the release's creation;
//! - a **failed change** is a deployment that was rolled back, a release that failed after a
//!   deploy step succeeded, or a deployment followed within `failure_window` (default 7 days) by a
//!   hotfix release to the same environment and service; the **change failure rate** is failed
//!   changes over changes (deployments and releases that failed after delivering);
//! - **time to restore** runs from a failed change's end to the next shipped deployment of the
//!   same service and environment.
//!
//! Each change is judged once ([`judge`]: failed or not, restored after how long); the figures
//! of any period are then a slice of the judged changes ([`figures`]), so a year and its 52
//! weekly buckets cost one pass over the history, not 53.

use super::{Delivery, Outcome};
use crate::domain::process::ReleaseKind;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::HashMap;

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

/// What the figures need of one delivery row.
#[derive(Debug, Clone, PartialEq)]
pub struct Shipped {
    pub release: i64,
    pub kind: ReleaseKind,
    pub service: String,
    pub environment: String,
    pub outcome: Outcome,
    /// Where lead time starts: the earliest change time, else the release's creation.
    pub began: DateTime<Utc>,
    pub ended: DateTime<Utc>,
}

impl From<&Delivery> for Shipped {
    fn from(d: &Delivery) -> Self {
        Self {
            release: d.release,
            kind: d.kind,
            service: d.service.clone(),
            environment: d.environment.clone(),
            outcome: d.outcome,
            began: d.changed_at.unwrap_or(d.created_at),
            ended: d.delivered_at,
        }
    }
}

/// One release's change, judged against the history around it.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub release: i64,
    pub ended: DateTime<Utc>,
    pub lead: Duration,
    /// A deployment (it reached its environment and stayed, or was rolled back).
    pub deployment: bool,
    pub failed: bool,
    /// For a failed change: how long until the next good deployment of one of its targets.
    pub restored_after: Option<Duration>,
}

/// Judges every change in `history` (rows of any order), oldest first. A change near either end
/// of the history is judged on what the history holds: read a failure window beyond a period.
pub fn judge(history: &[Shipped], failure_window: Duration) -> Vec<Judged> {
    // A release's rows share its end: sorted by (end, release) they lie side by side.
    let mut rows: Vec<&Shipped> = history.iter().collect();
    rows.sort_by_key(|r| (r.ended, r.release));
    let mut target_ids: HashMap<(&str, &str), usize> = HashMap::new();
    let mut changes: Vec<(&Shipped, Vec<usize>)> = Vec::new();
    for r in rows {
        let next = target_ids.len();
        let target = *target_ids.entry((r.service.as_str(), r.environment.as_str())).or_insert(next);
        match changes.last_mut() {
            Some((first, targets)) if first.release == r.release => {
                if !targets.contains(&target) {
                    targets.push(target);
                }
            }
            _ => changes.push((r, vec![target])),
        }
    }
    // Per service and environment, its changes in time order: hotfixes and restores are found by
    // binary search there, not by scanning every change for every change.
    let mut by_target: Vec<Vec<usize>> = vec![Vec::new(); target_ids.len()];
    for (i, (_, targets)) in changes.iter().enumerate() {
        for &t in targets {
            by_target[t].push(i);
        }
    }
    let ended = |i: usize| changes[i].0.ended;
    let after = |list: &[usize], t: DateTime<Utc>| list.partition_point(|&c| ended(c) <= t);
    let hotfixed: Vec<bool> = changes
        .iter()
        .map(|(c, targets)| {
            targets.iter().any(|&t| {
                let list = &by_target[t];
                list[after(list, c.ended)..]
                    .iter()
                    .take_while(|&&l| ended(l) <= c.ended + failure_window)
                    .any(|&l| changes[l].0.release != c.release && changes[l].0.kind == ReleaseKind::Hotfix)
            })
        })
        .collect();
    let failed: Vec<bool> = changes
        .iter()
        .zip(&hotfixed)
        .map(|((c, _), &hotfixed)| match c.outcome {
            Outcome::RolledBack | Outcome::FailedAfterDelivering => true,
            Outcome::Delivered => hotfixed,
        })
        .collect();
    // A change restores when it shipped and is not a failed change itself. Per target, the next
    // such change from each position, found once (scanning back).
    let next_good: Vec<Vec<Option<usize>>> = by_target
        .iter()
        .map(|list| {
            let mut next = vec![None; list.len() + 1];
            for i in (0..list.len()).rev() {
                next[i] = if failed[list[i]] { next[i + 1] } else { Some(list[i]) };
            }
            next
        })
        .collect();
    changes
        .iter()
        .enumerate()
        .map(|(i, (c, targets))| Judged {
            release: c.release,
            ended: c.ended,
            lead: c.ended - c.began,
            deployment: c.outcome != Outcome::FailedAfterDelivering,
            failed: failed[i],
            restored_after: failed[i]
                .then(|| {
                    targets
                        .iter()
                        .filter_map(|&t| {
                            let list = &by_target[t];
                            next_good[t][after(list, c.ended)].map(|n| ended(n) - c.ended)
                        })
                        .min()
                })
                .flatten(),
        })
        .collect()
}

/// The figures of the changes that ended in [from, to); `judged` oldest first (as [`judge`] gives).
pub fn figures(judged: &[Judged], from: DateTime<Utc>, to: DateTime<Utc>) -> Dora {
    let start = judged.partition_point(|c| c.ended < from);
    let end = judged.partition_point(|c| c.ended < to).max(start);
    let in_period = &judged[start..end];
    let deployments = in_period.iter().filter(|c| c.deployment).count();
    let failed_changes = in_period.iter().filter(|c| c.failed).count();
    let days = ((to - from).num_seconds() as f64 / 86_400.0).max(1.0 / 24.0);
    Dora {
        from,
        to,
        deployments,
        per_day: deployments as f64 / days,
        lead_time: median(in_period.iter().filter(|c| c.deployment).map(|c| c.lead).collect()),
        changes: in_period.len(),
        failed_changes,
        failure_rate: (!in_period.is_empty()).then(|| failed_changes as f64 / in_period.len() as f64),
        time_to_restore: median(in_period.iter().filter_map(|c| c.restored_after).collect()),
    }
}

/// The figures of [from, to) bucket by bucket (the last one shorter when the period does not
/// divide), at most `max` buckets.
pub fn trend(judged: &[Judged], from: DateTime<Utc>, to: DateTime<Utc>, bucket: Duration, max: usize) -> Vec<Dora> {
    let mut series = Vec::new();
    let mut start = from;
    while start < to && series.len() < max && bucket > Duration::zero() {
        let end = (start + bucket).min(to);
        series.push(figures(judged, start, end));
        start = end;
    }
    series
}

/// The figures for `history` (rows of any period; those ending in [from, to) count, later hotfixes
/// and restores are looked at beyond `to`).
pub fn dora(history: &[Delivery], from: DateTime<Utc>, to: DateTime<Utc>, failure_window: Duration) -> Dora {
    let shipped: Vec<Shipped> = history.iter().map(Shipped::from).collect();
    figures(&judge(&shipped, failure_window), from, to)
}

/// The middle value (the lower of the two middles for an even count).
fn median(mut values: Vec<Duration>) -> Option<Duration> {
    values.sort_unstable();
    values.get(values.len().saturating_sub(1) / 2).copied()
}
