//! A release group: a process with a `cadence` keeps its next `horizon` occurrences created as
//! scheduled releases. Each occurrence has a key (its instant in UTC), so however often the
//! planner runs, and whatever it finds after a restart, an occurrence is created once.

use crate::domain::template;
use crate::domain::HumanDuration;
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A process's `group:` block, checked. Every field has a default, so `cadence:` alone is a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSpec {
    /// How many occurrences ahead are kept created.
    pub horizon: u32,
    /// The name of each release: a template over `iso_week`, `year`, `date`, `weekday`, `time`
    /// and `process`.
    pub name: String,
    /// Input values each release gets (over `input_set`'s); templates like `name`.
    pub inputs: BTreeMap<String, String>,
    pub input_set: Option<String>,
    /// How long each release is planned to take: the calendar's bar, the window conflicts and
    /// freezes are checked over, and the lateness after which a missed occurrence is skipped.
    pub duration: HumanDuration,
    /// What happens to an occurrence the bot was down for.
    pub missed: Missed,
}

pub const DEFAULT_HORIZON: u32 = 4;
pub const MAX_HORIZON: u32 = 52;
pub const DEFAULT_NAME: &str = "{{ process }} {{ date }}";

impl Default for GroupSpec {
    fn default() -> Self {
        Self {
            horizon: DEFAULT_HORIZON,
            name: DEFAULT_NAME.into(),
            inputs: BTreeMap::new(),
            input_set: None,
            duration: HumanDuration::from_secs(3_600),
            missed: Missed::Auto,
        }
    }
}

/// `group.missed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missed {
    /// Start it late, saying how late.
    Start,
    /// Skip it, saying so.
    Skip,
    /// Start it when less than the group's `duration` late, else skip it (the default).
    Auto,
}

impl Missed {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "start" => Some(Self::Start),
            "skip" => Some(Self::Skip),
            _ => None,
        }
    }

    /// Whether an occurrence `late` past its time still starts.
    pub fn starts(self, late: chrono::Duration, duration: HumanDuration) -> bool {
        match self {
            Self::Start => true,
            Self::Skip => late <= chrono::Duration::minutes(1),
            Self::Auto => late.to_std().map_or(true, |late| late < duration.as_duration()),
        }
    }
}

/// The next `n` matches of `cron` in `tz` strictly after `after`, as UTC instants. Daylight-saving
/// changes are croner's: a time the clocks skip moves to just after the gap, a repeated hour runs once.
pub fn occurrences(cron: &str, tz: chrono_tz::Tz, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
    let Ok(cron) = cron.parse::<croner::Cron>() else { return vec![] };
    cron.iter_after(after.with_timezone(&tz)).take(n).map(|t| t.with_timezone(&Utc)).collect()
}

/// An occurrence's key: its instant, which a restart computes again the same.
pub fn occurrence_key(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%MZ").to_string()
}

/// The release name of the occurrence at `at`, from the group's name template.
pub fn release_name(template_text: &str, process: &str, at: DateTime<Utc>, tz: chrono_tz::Tz) -> Result<String, template::TemplateError> {
    render(template_text, process, at, tz)
}

/// The group's input values for the occurrence at `at`: each may be a template like its name.
pub fn release_inputs(
    group: &GroupSpec,
    process: &str,
    at: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Result<Vec<(String, String)>, template::TemplateError> {
    group.inputs.iter().map(|(k, v)| Ok((k.clone(), render(v, process, at, tz)?))).collect()
}

fn render(template_text: &str, process: &str, at: DateTime<Utc>, tz: chrono_tz::Tz) -> Result<String, template::TemplateError> {
    let local = at.with_timezone(&tz);
    let ctx = serde_json::json!({
        "process": process,
        "iso_week": local.iso_week().week(),
        "week": format!("{:02}", local.iso_week().week()),
        "year": local.year(),
        "date": local.format("%Y-%m-%d").to_string(),
        "weekday": local.format("%A").to_string(),
        "time": local.format("%H:%M").to_string(),
    });
    template::render(template_text, &ctx)
}

/// The names a group's name and input templates may read (`week`: the ISO week, two digits).
pub const NAME_VARIABLES: [&str; 7] = ["process", "iso_week", "week", "year", "date", "weekday", "time"];

/// The cadence in words (croner's description), like `At 14:00 on Thursday`.
pub fn describe(cron: &str) -> String {
    cron.parse::<croner::Cron>().map(|c| c.describe()).unwrap_or_else(|_| cron.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    fn instants(cron: &str, tz: chrono_tz::Tz, after: &str, n: usize) -> Vec<String> {
        occurrences(cron, tz, utc(after), n).iter().map(|t| t.to_rfc3339()).collect()
    }

    #[test]
    fn a_berlin_thursday_cadence_keeps_14_00_local_across_both_changes_of_2026() {
        // Summer time begins on Sunday 29 March and ends on Sunday 25 October 2026.
        let spring = instants("0 14 * * thu", chrono_tz::Europe::Berlin, "2026-03-20T00:00:00Z", 2);
        assert_eq!(spring, ["2026-03-26T13:00:00+00:00", "2026-04-02T12:00:00+00:00"]);
        let autumn = instants("0 14 * * thu", chrono_tz::Europe::Berlin, "2026-10-16T00:00:00Z", 2);
        assert_eq!(autumn, ["2026-10-22T12:00:00+00:00", "2026-10-29T13:00:00+00:00"]);
    }

    #[test]
    fn a_new_york_monday_cadence_keeps_9_00_local_across_both_changes_of_2026() {
        // US daylight saving time begins on 8 March and ends on 1 November 2026.
        let spring = instants("0 9 * * mon", chrono_tz::America::New_York, "2026-03-01T00:00:00Z", 2);
        assert_eq!(spring, ["2026-03-02T14:00:00+00:00", "2026-03-09T13:00:00+00:00"]);
        let autumn = instants("0 9 * * mon", chrono_tz::America::New_York, "2026-10-25T00:00:00Z", 2);
        assert_eq!(autumn, ["2026-10-26T13:00:00+00:00", "2026-11-02T14:00:00+00:00"]);
    }

    #[test]
    fn an_occurrence_in_the_spring_gap_runs_once_just_after_it_and_the_repeated_hour_once() {
        // 02:30 does not exist in Berlin on 29 March 2026; it exists twice on 25 October.
        let gap = instants("30 2 * * *", chrono_tz::Europe::Berlin, "2026-03-28T12:00:00Z", 2);
        assert_eq!(gap, ["2026-03-29T01:00:00+00:00", "2026-03-30T00:30:00+00:00"]);
        let twice = instants("30 2 * * *", chrono_tz::Europe::Berlin, "2026-10-24T12:00:00Z", 2);
        assert_eq!(twice, ["2026-10-25T00:30:00+00:00", "2026-10-26T01:30:00+00:00"]);
    }

    #[test]
    fn the_name_template_reads_the_local_iso_week() {
        // Thursday 31 December 2026 14:00 Berlin is in ISO week 53.
        let name = release_name("Week {{ iso_week }} production", "shop", utc("2026-12-31T13:00:00Z"), chrono_tz::Europe::Berlin);
        assert_eq!(name.as_deref().ok(), Some("Week 53 production"));
    }

    #[test]
    fn a_missed_occurrence_starts_late_only_within_the_group_duration_by_default() {
        let two_hours = HumanDuration::from_secs(7_200);
        assert!(Missed::Auto.starts(chrono::Duration::minutes(30), two_hours));
        assert!(!Missed::Auto.starts(chrono::Duration::hours(3), two_hours));
        assert!(Missed::Start.starts(chrono::Duration::days(3), two_hours));
        assert!(!Missed::Skip.starts(chrono::Duration::minutes(30), two_hours));
    }
}
