//! Conflicts: two planned releases whose windows overlap and that share an environment or a
//! service (read from the inputs the process marks with `identifies:`).

use chrono::{DateTime, Utc};

/// What the planner knows of a release when looking for conflicts.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub id: crate::domain::ReleaseId,
    pub name: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub environment: Option<String>,
    pub services: Vec<String>,
}

/// Why two planned releases conflict.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub with: crate::domain::ReleaseId,
    pub with_name: String,
    /// What they share: `environment prod`, `service api`.
    pub shared: Vec<String>,
}

/// The releases among `others` that `this` conflicts with.
pub fn conflicts(this: &Planned, others: &[Planned]) -> Vec<Conflict> {
    others
        .iter()
        .filter(|o| o.id != this.id && o.from < this.to && this.from < o.to)
        .filter_map(|o| {
            let mut shared = vec![];
            if let (Some(a), Some(b)) = (&this.environment, &o.environment) {
                if a.eq_ignore_ascii_case(b) {
                    shared.push(format!("environment {a}"));
                }
            }
            shared.extend(
                this.services.iter().filter(|s| o.services.iter().any(|t| t.eq_ignore_ascii_case(s))).map(|s| format!("service {s}")),
            );
            (!shared.is_empty()).then(|| Conflict { with: o.id, with_name: o.name.clone(), shared })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ReleaseId;

    fn planned(id: i64, from: &str, hours: i64, env: &str, services: &[&str]) -> Planned {
        let from = DateTime::parse_from_rfc3339(from).map(|t| t.with_timezone(&Utc)).unwrap_or_default();
        Planned {
            id: ReleaseId(id),
            name: format!("r{id}"),
            from,
            to: from + chrono::Duration::hours(hours),
            environment: Some(env.into()),
            services: services.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn overlapping_releases_that_share_an_environment_or_a_service_conflict() {
        let a = planned(1, "2026-12-10T13:00:00Z", 2, "prod", &["api", "web"]);
        let others = [
            planned(2, "2026-12-10T14:00:00Z", 1, "prod", &["billing"]),
            planned(3, "2026-12-10T14:30:00Z", 1, "staging", &["web"]),
            planned(4, "2026-12-10T15:00:00Z", 1, "prod", &["api"]),
            planned(5, "2026-12-10T14:00:00Z", 1, "staging", &["billing"]),
        ];
        let found = conflicts(&a, &others);
        assert_eq!(found.iter().map(|c| c.with.0).collect::<Vec<_>>(), [2, 3], "4 starts as 1 ends; 5 shares nothing");
        assert_eq!(found[0].shared, ["environment prod"]);
        assert_eq!(found[1].shared, ["service web"]);
    }
}
