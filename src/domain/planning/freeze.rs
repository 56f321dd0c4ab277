//! Freeze windows: times in which releases may not start (the year-end freeze, every Friday
//! afternoon). Declared in trainmaster.toml (per server) and in process files, or added in chat
//! (`/freeze add`, stored). A freeze may concern some environments only (`applies_to`) and let some
//! kinds of release through (`allow: [hotfix]`).

use crate::domain::process::ReleaseKind;
use crate::domain::HumanDuration;
use chrono::{DateTime, TimeZone, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A freeze as written in trainmaster.toml or a process file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FreezeSpec {
    /// What people call it, like `Year-end`.
    pub name: String,
    /// First day (`2026-12-20`) or time (`2026-12-20 18:00`, RFC 3339) of a one-off freeze.
    #[serde(default)]
    pub from: Option<String>,
    /// Last day (inclusive: `2027-01-04` freezes all of 4 January) or end time of a one-off freeze.
    #[serde(default)]
    pub to: Option<String>,
    /// A recurring freeze's start, a 5-field cron expression: `0 15 * * fri` (Fridays 15:00).
    #[serde(default)]
    pub cron: Option<String>,
    /// How long each recurring freeze lasts, like `63h` (Friday 15:00 to Monday 06:00).
    #[serde(default)]
    pub duration: Option<String>,
    /// The environments it concerns (the value of the input that identifies the environment);
    /// empty: every release.
    #[serde(default)]
    pub applies_to: Vec<String>,
    /// Kinds of release that may still start in it, like `[hotfix]`.
    #[serde(default)]
    pub allow: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Freeze {
    pub name: String,
    pub window: FreezeWindow,
    pub applies_to: Vec<String>,
    pub allow: Vec<ReleaseKind>,
    pub origin: FreezeOrigin,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum FreezeWindow {
    /// From `from` (inclusive) to `to` (exclusive).
    Fixed { from: DateTime<Utc>, to: DateTime<Utc> },
    /// From each match of `cron` in `time_zone`, for `duration`.
    Recurring { cron: String, duration: HumanDuration, time_zone: String },
}

/// Where a freeze is declared: what may end it, and what its list entry says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum FreezeOrigin {
    /// trainmaster.toml: ended by editing the file.
    Config,
    /// A process file: concerns that process's releases only.
    Process { process: String },
    /// `/freeze add`: stored, ended with `/freeze end`.
    Chat { id: i64, by: String, reason: String },
}

impl FreezeSpec {
    /// The freeze this spec declares, its dates read in `tz`; or what is wrong with it.
    pub fn check(&self, tz: chrono_tz::Tz, origin: FreezeOrigin) -> Result<Freeze, String> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err("a freeze needs a `name`".into());
        }
        let window = match (&self.from, &self.to, &self.cron, &self.duration) {
            (Some(from), Some(to), None, None) => {
                let from = bound(from, tz, false).map_err(|e| format!("freeze `{name}`: `from` {e}"))?;
                let to = bound(to, tz, true).map_err(|e| format!("freeze `{name}`: `to` {e}"))?;
                if to <= from {
                    return Err(format!("freeze `{name}` ends before it begins: `to` must be after `from`"));
                }
                FreezeWindow::Fixed { from, to }
            }
            (None, None, Some(cron), Some(duration)) => {
                cron.parse::<croner::Cron>().map_err(|e| format!("freeze `{name}`: `cron` `{cron}` is not a cron expression: {e}"))?;
                if cron.split_whitespace().count() != 5 {
                    return Err(format!("freeze `{name}`: `cron` takes 5 fields (minute hour day month weekday), like `0 15 * * fri`"));
                }
                let duration = duration.parse::<HumanDuration>().map_err(|e| format!("freeze `{name}`: `duration` {e}"))?;
                FreezeWindow::Recurring { cron: cron.clone(), duration, time_zone: tz.name().into() }
            }
            _ => {
                return Err(format!(
                    "freeze `{name}` needs either `from` and `to` (a one-off freeze) or `cron` and `duration` (a recurring one)"
                ))
            }
        };
        let allow = self
            .allow
            .iter()
            .map(|k| {
                ReleaseKind::parse(k.trim())
                    .ok_or_else(|| format!("freeze `{name}`: `allow` names kind `{k}`; kinds are {}", ReleaseKind::NAMES.join(", ")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Freeze { name: name.into(), window, applies_to: self.applies_to.clone(), allow, origin })
    }
}

/// A day (`2026-12-20`: its start, or with `end` the start of the next day) or a time.
fn bound(text: &str, tz: chrono_tz::Tz, end: bool) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let day = if end { day.succ_opt().unwrap_or(day) } else { day };
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
        return tz
            .from_local_datetime(&midnight)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| format!("`{text}` has no midnight in {}", tz.name()));
    }
    crate::domain::inputs::parse_datetime(text, tz).map_err(|e| format!("`{text}`: {e}"))
}

impl Freeze {
    /// The window of this freeze that `at` falls in, if any: [start, end).
    pub fn window_at(&self, at: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        match &self.window {
            FreezeWindow::Fixed { from, to } => (*from <= at && at < *to).then_some((*from, *to)),
            FreezeWindow::Recurring { duration, .. } => {
                let length = chrono::Duration::from_std(duration.as_duration()).ok()?;
                // The last start at or before `at` is the only one whose window can hold it.
                let start = self.starts_between(at - length, at + chrono::Duration::seconds(1)).into_iter().next_back()?;
                (at < start + length).then_some((start, start + length))
            }
        }
    }

    /// The windows that overlap [from, to): what the calendar shades.
    pub fn windows_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        match &self.window {
            FreezeWindow::Fixed { from: a, to: b } => {
                if *a < to && from < *b {
                    vec![(*a, *b)]
                } else {
                    vec![]
                }
            }
            FreezeWindow::Recurring { duration, .. } => {
                let Ok(length) = chrono::Duration::from_std(duration.as_duration()) else { return vec![] };
                self.starts_between(from - length, to).into_iter().map(|s| (s, s + length)).filter(|(_, e)| *e > from).collect()
            }
        }
    }

    /// Starts of a recurring freeze in [from, to), at most a year's worth of them.
    fn starts_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let FreezeWindow::Recurring { cron, time_zone, .. } = &self.window else { return vec![] };
        let (Ok(cron), Ok(tz)) = (cron.parse::<croner::Cron>(), time_zone.parse::<chrono_tz::Tz>()) else { return vec![] };
        cron.iter_from(from.with_timezone(&tz), croner::Direction::Forward)
            .map(|t| t.with_timezone(&Utc))
            .take_while(|t| *t < to)
            .take(366)
            .collect()
    }

    /// Whether it concerns a release to `environment` (`None`: the release names none, and only
    /// freezes of every environment concern it).
    pub fn concerns(&self, environment: Option<&str>) -> bool {
        self.applies_to.is_empty() || environment.is_some_and(|e| self.applies_to.iter().any(|a| a.eq_ignore_ascii_case(e)))
    }

    /// What it says in a list: `Year-end: Sun 20 Dec 2026 00:00 CET – Tue 5 Jan 2027 00:00 CET · prod · hotfix may start`.
    pub fn describe(&self, tz: chrono_tz::Tz) -> String {
        let when = match &self.window {
            FreezeWindow::Fixed { from, to } => format!("{} – {}", super::local(*from, tz), super::local(*to, tz)),
            FreezeWindow::Recurring { cron, duration, time_zone } => {
                let words = cron.parse::<croner::Cron>().map(|c| c.describe()).unwrap_or_else(|_| cron.clone());
                format!("{} ({time_zone}), for {duration} each time", words.trim_end_matches('.'))
            }
        };
        let envs = if self.applies_to.is_empty() { "every environment".to_string() } else { self.applies_to.join(", ") };
        let allow = match self.allow.as_slice() {
            [] => String::new(),
            kinds => format!(" · {} releases may start", kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" and ")),
        };
        format!("{}: {when} · {envs}{allow}", self.name)
    }
}

/// A freeze that keeps a release from starting at a time, and the window it is in.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocked {
    pub freeze: Freeze,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Blocked {
    /// The refusal, saying when it would be allowed.
    pub fn explain(&self, at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
        let allowed = match self.freeze.allow.as_slice() {
            [] => String::new(),
            kinds => format!("; {} releases may start in it", kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" and ")),
        };
        format!(
            "{} is inside the freeze “{}” ({} – {}){allowed}. Pick a time from {} on, or ask an admin to override it with a reason",
            super::local(at, tz),
            self.freeze.name,
            super::local(self.from, tz),
            super::local(self.to, tz),
            super::local(self.to, tz)
        )
    }
}

/// The first of `freezes` that keeps a release of `kind` to `environment` from starting at `at`.
pub fn blocking(freezes: &[Freeze], at: DateTime<Utc>, environment: Option<&str>, kind: ReleaseKind) -> Option<Blocked> {
    freezes.iter().filter(|f| f.concerns(environment) && !f.allow.contains(&kind)).find_map(|f| {
        let (from, to) = f.window_at(at)?;
        Some(Blocked { freeze: f.clone(), from, to })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    const BERLIN: chrono_tz::Tz = chrono_tz::Europe::Berlin;

    fn year_end() -> Freeze {
        let spec = FreezeSpec {
            name: "Year-end".into(),
            from: Some("2026-12-20".into()),
            to: Some("2027-01-04".into()),
            cron: None,
            duration: None,
            applies_to: vec!["prod".into()],
            allow: vec!["hotfix".into()],
        };
        spec.check(BERLIN, FreezeOrigin::Config).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_one_off_freeze_runs_from_its_first_day_to_the_end_of_its_last_in_its_time_zone() {
        let f = year_end();
        assert_eq!(f.window, FreezeWindow::Fixed { from: utc("2026-12-19T23:00:00Z"), to: utc("2027-01-04T23:00:00Z") });
        assert!(f.window_at(utc("2027-01-04T22:59:00Z")).is_some());
        assert!(f.window_at(utc("2027-01-04T23:00:00Z")).is_none());
    }

    #[test]
    fn a_freeze_blocks_its_environments_but_lets_allowed_kinds_through() {
        let freezes = [year_end()];
        let at = utc("2026-12-24T13:00:00Z");
        assert!(blocking(&freezes, at, Some("prod"), ReleaseKind::Standard).is_some());
        assert!(blocking(&freezes, at, Some("prod"), ReleaseKind::Hotfix).is_none(), "hotfixes are allowed");
        assert!(blocking(&freezes, at, Some("staging"), ReleaseKind::Standard).is_none(), "staging is not frozen");
        let why = blocking(&freezes, at, Some("prod"), ReleaseKind::Standard).map(|b| b.explain(at, BERLIN)).unwrap_or_default();
        assert!(why.contains("“Year-end”") && why.contains("from Tue 5 Jan 2027 00:00 CET on") && why.contains("hotfix"), "{why}");
    }

    #[test]
    fn a_recurring_freeze_holds_from_each_start_for_its_duration_across_daylight_saving() {
        let spec = FreezeSpec {
            name: "Weekend".into(),
            from: None,
            to: None,
            cron: Some("0 15 * * fri".into()),
            duration: Some("63h".into()),
            applies_to: vec![],
            allow: vec![],
        };
        let f = spec.check(BERLIN, FreezeOrigin::Config).unwrap_or_else(|e| panic!("{e}"));
        // Friday 27 March 2026 15:00 CET = 14:00 UTC; the clocks go forward on Sunday the 29th.
        assert_eq!(f.window_at(utc("2026-03-28T12:00:00Z")).map(|w| w.0), Some(utc("2026-03-27T14:00:00Z")));
        assert!(f.window_at(utc("2026-03-30T06:00:00Z")).is_none(), "63 h after Friday 14:00 UTC is Monday 05:00 UTC");
        assert!(f.window_at(utc("2026-03-26T12:00:00Z")).is_none(), "Thursday is not frozen");
        // Friday 3 April is CEST: 15:00 local = 13:00 UTC.
        assert_eq!(f.window_at(utc("2026-04-03T13:30:00Z")).map(|w| w.0), Some(utc("2026-04-03T13:00:00Z")));
        // The weekend that began on Friday the 20th reaches into Monday the 23rd: three windows.
        let starts: Vec<_> = f.windows_between(utc("2026-03-23T00:00:00Z"), utc("2026-04-06T00:00:00Z")).iter().map(|w| w.0).collect();
        assert_eq!(starts, [utc("2026-03-20T14:00:00Z"), utc("2026-03-27T14:00:00Z"), utc("2026-04-03T13:00:00Z")]);
    }

    #[test]
    fn a_freeze_without_a_window_or_with_an_unknown_kind_says_what_to_write() {
        let mut spec = FreezeSpec {
            name: "x".into(),
            from: Some("2026-12-20".into()),
            to: None,
            cron: None,
            duration: None,
            applies_to: vec![],
            allow: vec![],
        };
        assert!(spec.check(BERLIN, FreezeOrigin::Config).err().unwrap_or_default().contains("needs either `from` and `to`"));
        spec.to = Some("2026-12-21".into());
        spec.allow = vec!["hotfixes".into()];
        assert!(spec.check(BERLIN, FreezeOrigin::Config).err().unwrap_or_default().contains("kinds are standard, hotfix"));
        spec.allow = vec![];
        spec.to = Some("2026-12-19".into());
        assert!(spec.check(BERLIN, FreezeOrigin::Config).err().unwrap_or_default().contains("ends before it begins"));
    }
}
