//! What activities marked `collects:` reported about their release (its version, services,
//! environment, changes), and what a release changes: lead time starts at the earliest change.

use super::{Release, StepStatus};
use crate::domain::process::Identifies;
use chrono::{DateTime, Utc};

/// One change a release carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub title: String,
    /// When it was made (merged or committed), when the collecting activity said.
    pub at: Option<DateTime<Utc>>,
}

/// The fields a change's title and time are read from, first found wins.
const TITLE_FIELDS: [&str; 4] = ["title", "name", "id", "sha"];
const TIME_FIELDS: [&str; 4] = ["merged_at", "committed_at", "at", "time"];

impl Release {
    /// The outputs that activities collecting `what` gave, in process order, from those that
    /// succeeded (an output named like the thing: `version`, `service`, ...).
    pub(crate) fn collected(&self, what: Identifies) -> Vec<&serde_json::Value> {
        let name = what.as_str();
        self.process
            .phases
            .iter()
            .flat_map(|p| p.activities.iter())
            .filter(|spec| spec.collects.contains(&what))
            .filter_map(|spec| self.activity(&spec.id))
            .filter(|run| run.status == StepStatus::Success)
            .filter_map(|run| run.outputs.get(name))
            .collect()
    }

    /// The changes this release carries: the collected ones (from every collecting activity that
    /// succeeded), else the `changes` input's items without times.
    pub fn changes(&self) -> Vec<Change> {
        let collected: Vec<Change> = self.collected(Identifies::Changes).into_iter().flat_map(read_changes).collect();
        if !collected.is_empty() {
            return collected;
        }
        self.identified(Identifies::Changes).into_iter().map(|title| Change { title, at: None }).collect()
    }

    /// The earliest time among its changes, if any says one.
    pub fn first_change_at(&self) -> Option<DateTime<Utc>> {
        self.changes().into_iter().filter_map(|c| c.at).min()
    }
}

/// A collected `changes` output: a list of strings or objects (anything else is no change); a
/// single string or object counts as a list of one.
fn read_changes(value: &serde_json::Value) -> Vec<Change> {
    let items = match value {
        serde_json::Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    items
        .into_iter()
        .filter_map(|item| match item {
            serde_json::Value::String(s) if !s.trim().is_empty() => Some(Change { title: s.clone(), at: None }),
            serde_json::Value::Object(o) => {
                let text =
                    |field: &&str| o.get(*field).and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_i64().map(|n| n.to_string())));
                let title = TITLE_FIELDS.iter().find_map(text)?;
                let at = TIME_FIELDS
                    .iter()
                    .filter_map(|f| o.get(*f)?.as_str())
                    .find_map(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&Utc));
                Some(Change { title, at })
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::inputs::{parse_pairs, validate};
    use crate::domain::{GuildId, ReleaseId, UserId};
    use serde_json::json;

    const PROCESS: &str = r#"
name: shop
inputs:
  changes: { type: list }
phases:
  - id: build
    activities:
      - id: list-prs
        collects: changes
        webhook: { url: "https://git.example.com/prs", outputs: { changes: "pull_requests" } }
"#;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    fn release(inputs: &str) -> Release {
        let process = crate::domain::process_file::parse("shop.yaml", PROCESS).unwrap_or_else(|e| panic!("{e:?}"));
        let inputs = validate(&process, parse_pairs(inputs).unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
        Release::new_draft(ReleaseId(1), GuildId(1), "R".into(), process, inputs, UserId(1), at("2026-12-07T09:00:00Z"))
    }

    fn collected(r: &mut Release, status: StepStatus, value: serde_json::Value) {
        let run = r.activity_mut("list-prs").unwrap_or_else(|| panic!("no activity"));
        run.status = status;
        run.outputs.insert("changes".into(), value);
    }

    #[test]
    fn collected_changes_win_over_the_input_and_the_earliest_time_is_where_lead_time_starts() {
        let mut r = release("changes=typo,docs");
        assert_eq!(r.changes().iter().map(|c| c.title.as_str()).collect::<Vec<_>>(), ["typo", "docs"], "the input, before collecting");
        assert_eq!(r.first_change_at(), None, "an input's items carry no time");
        collected(
            &mut r,
            StepStatus::Success,
            json!([
                {"title": "Fix login", "merged_at": "2026-12-05T10:00:00Z"},
                {"number": 7, "id": 42, "committed_at": "2026-12-03T08:30:00+01:00"},
                "Bump deps",
                {"title": "No time", "merged_at": "yesterday"},
                17,
                {"url": "https://x"}
            ]),
        );
        let titles: Vec<String> = r.changes().into_iter().map(|c| c.title).collect();
        assert_eq!(titles, ["Fix login", "42", "Bump deps", "No time"], "numbers and objects without a title are no change");
        assert_eq!(r.first_change_at(), Some(at("2026-12-03T07:30:00Z")));
    }

    #[test]
    fn a_collecting_activity_that_did_not_succeed_collects_nothing() {
        let mut r = release("changes=typo");
        collected(&mut r, StepStatus::Failed, json!([{"title": "Fix login", "merged_at": "2026-12-05T10:00:00Z"}]));
        assert_eq!(r.changes(), vec![Change { title: "typo".into(), at: None }]);
        assert_eq!(r.first_change_at(), None);
    }
}
