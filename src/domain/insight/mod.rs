//! Insight: what a release delivered (the inventory) and the four key metrics (DORA), computed by
//! pure functions over stored rows; SQL only fetches them.

pub mod dora;
pub mod report;

use crate::domain::process::{Identifies, ReleaseKind};
use crate::domain::release::{Release, ReleaseStatus, StepStatus, ROLLBACK};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a release that reached an environment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Ended shipped or partly shipped: a deployment.
    Delivered,
    /// Delivered, then failed and ran its rollback: the environment went back to the version before.
    RolledBack,
    /// A deploy step succeeded, then the release failed without rolling back.
    FailedAfterDelivering,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::RolledBack => "rolled_back",
            Self::FailedAfterDelivering => "failed_after_delivering",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "delivered" => Some(Self::Delivered),
            "rolled_back" => Some(Self::RolledBack),
            "failed_after_delivering" => Some(Self::FailedAfterDelivering),
            _ => None,
        }
    }
}

/// One service a release delivered to one environment: a row of the inventory's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub release: i64,
    pub process: String,
    pub kind: ReleaseKind,
    pub service: String,
    pub version: String,
    pub environment: String,
    pub outcome: Outcome,
    /// When the release was created: where lead time starts without change times.
    pub created_at: DateTime<Utc>,
    /// The earliest time among the changes it carries (`collects: changes`), when one says.
    #[serde(default)]
    pub changed_at: Option<DateTime<Utc>>,
    /// When the release ended.
    pub delivered_at: DateTime<Utc>,
    /// For a rollback: the version the environment went back to (unknown without an earlier delivery).
    pub rolled_back_to: Option<String>,
}

/// What a release delivered, once it ended: one row per service, or none when it never reached
/// its environment. A deploy step is an activity whose id contains `deploy` (or `rollout`); a
/// release with none that shipped delivered at its end. `previous` gives the version a service
/// had in an environment before (what a rollback returns to).
pub fn deliveries_of(release: &Release, ended_at: DateTime<Utc>, previous: impl Fn(&str, &str) -> Option<String>) -> Vec<Delivery> {
    let deploy_succeeded = release
        .phases
        .iter()
        .filter(|p| p.id != ROLLBACK)
        .flat_map(|p| p.activities.iter())
        .any(|a| (a.id.contains("deploy") || a.id.contains("rollout")) && a.status == StepStatus::Success);
    let rolled_back = release.phases.iter().any(|p| p.id == ROLLBACK && p.status == StepStatus::Success);
    let outcome = match release.status {
        ReleaseStatus::Success | ReleaseStatus::PartialSuccess => Outcome::Delivered,
        ReleaseStatus::Failed if rolled_back && deploy_succeeded => Outcome::RolledBack,
        ReleaseStatus::Failed if deploy_succeeded => Outcome::FailedAfterDelivering,
        _ => return vec![],
    };
    let services = match release.identified(Identifies::Service) {
        s if s.is_empty() => vec![release.process.name.clone()],
        s => s,
    };
    let version = release.identified(Identifies::Version).into_iter().next().unwrap_or_else(|| release.name.clone());
    let environment = release.environment().unwrap_or_else(|| "default".into());
    let changed_at = release.first_change_at();
    services
        .into_iter()
        .map(|service| Delivery {
            release: release.id.0,
            process: release.process.name.clone(),
            kind: release.process.kind,
            rolled_back_to: (outcome == Outcome::RolledBack).then(|| previous(&service, &environment)).flatten(),
            service,
            version: version.clone(),
            environment: environment.clone(),
            outcome,
            created_at: release.created_at,
            changed_at,
            delivered_at: ended_at,
        })
        .collect()
}

/// What runs in a service's environment now, and since when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deployed {
    pub service: String,
    pub environment: String,
    pub version: String,
    pub since: DateTime<Utc>,
    pub release: i64,
    /// The latest change was a rollback (to `version`).
    pub rolled_back: bool,
}

/// The current version of each service in each environment, from its history (any order).
pub fn current(history: &[Delivery]) -> Vec<Deployed> {
    let mut latest: std::collections::BTreeMap<(&str, &str), &Delivery> = Default::default();
    for d in history {
        let key = (d.service.as_str(), d.environment.as_str());
        if latest.get(&key).is_none_or(|l| (l.delivered_at, l.release) < (d.delivered_at, d.release)) {
            latest.insert(key, d);
        }
    }
    latest
        .into_values()
        .map(|d| {
            let (version, rolled_back) = match d.outcome {
                Outcome::RolledBack => (d.rolled_back_to.clone().unwrap_or_else(|| "the version before".into()), true),
                _ => (d.version.clone(), false),
            };
            Deployed {
                service: d.service.clone(),
                environment: d.environment.clone(),
                version,
                since: d.delivered_at,
                release: d.release,
                rolled_back,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
