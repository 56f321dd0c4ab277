//! Checks of the planning sections: `group:` (with `cadence:`) and `freezes:`.

use super::raw::*;
use super::Checker;
use crate::domain::inputs::check_value;
use crate::domain::planning::cadence::{self, GroupSpec, Missed};
use crate::domain::planning::freeze::{Freeze, FreezeOrigin, FreezeSpec};
use crate::domain::process::InputSpec;
use crate::domain::template::{self, Names};
use std::collections::BTreeMap;

/// The release group of a process with a `cadence`: its `group:` block checked, or every default.
pub fn check_group(
    c: &mut Checker,
    raw: &RawProcess,
    specs: &[InputSpec],
    sets: &BTreeMap<String, BTreeMap<String, String>>,
    tz: chrono_tz::Tz,
) -> Option<GroupSpec> {
    let Some(_) = &raw.cadence else {
        if let Some(group) = &raw.group {
            c.at(
                group,
                "a `group` needs a `cadence`: when its releases start",
                Some("add `cadence: \"0 14 * * thu\"` (minute hour day month weekday), or remove `group`".into()),
            );
        }
        return None;
    };
    let mut spec = GroupSpec::default();
    let Some(group) = &raw.group else {
        check_required_given(c, raw.cadence.as_ref()?, specs, &BTreeMap::new());
        return Some(spec);
    };
    let g = &group.value;
    if let Some(horizon) = &g.horizon {
        if !(1..=cadence::MAX_HORIZON).contains(&horizon.value) {
            c.at(
                horizon,
                format!("`horizon: {}` is out of range", horizon.value),
                Some(format!("keep between 1 and {} occurrences ahead", cadence::MAX_HORIZON)),
            );
        }
        spec.horizon = horizon.value.clamp(1, cadence::MAX_HORIZON);
    }
    if let Some(name) = &g.name {
        let known = Names::default().with(cadence::NAME_VARIABLES.map(String::from));
        if let Err(e) = template::check(&name.value, &known) {
            c.at(name, format!("the group's release name: {e}"), Some(format!("it may read {}", cadence::NAME_VARIABLES.join(", "))));
        }
        spec.name = name.value.clone();
    }
    if let Some(d) = &g.duration {
        if let Some(d) = c.duration(d) {
            spec.duration = d;
        }
    }
    if let Some(missed) = &g.missed {
        spec.missed = Missed::parse(&missed.value).unwrap_or_else(|| {
            c.at(missed, format!("`missed: {}` is not a choice", missed.value), Some("write `start` (start it late) or `skip`".into()));
            Missed::Auto
        });
    }
    let mut given = BTreeMap::new();
    if let Some(set) = &g.input_set {
        match sets.get(&set.value) {
            Some(values) => given.extend(values.clone()),
            None => c.at(set, format!("the group starts from input set `{}`, which this process does not have", set.value), None),
        }
        spec.input_set = Some(set.value.clone());
    }
    for (key, value) in &g.inputs {
        match specs.iter().find(|s| &s.name == key) {
            None => c.at(value, format!("the group gives `{key}`, which is not an input"), None),
            Some(input) if value.value.0.contains("{{") || value.value.0.contains("{%") => {
                // Checked as a template here; its value is checked when each release is created.
                let _ = input;
                let known = Names::default().with(cadence::NAME_VARIABLES.map(String::from));
                if let Err(e) = template::check(&value.value.0, &known) {
                    c.at(
                        value,
                        format!("the group's input `{key}`: {e}"),
                        Some(format!("it may read {}", cadence::NAME_VARIABLES.join(", "))),
                    );
                }
            }
            Some(input) => {
                if let Err(e) = check_value(input, value.value.0.clone(), tz) {
                    c.at(value, format!("the group's input: {e}"), None);
                }
            }
        }
        given.insert(key.clone(), value.value.0.clone());
        spec.inputs.insert(key.clone(), value.value.0.clone());
    }
    check_required_given(c, group, specs, &given);
    Some(spec)
}

/// Every occurrence is created by the bot, so nobody can type a required input: the group must
/// give every one without a default.
fn check_required_given<T>(c: &mut Checker, at: &At<T>, specs: &[InputSpec], given: &BTreeMap<String, String>) {
    let missing: Vec<String> = specs
        .iter()
        .filter(|s| s.required && s.default.is_none() && !given.contains_key(&s.name))
        .map(|s| format!("`{}`", s.name))
        .collect();
    if !missing.is_empty() {
        c.at(
            at,
            format!("the release group cannot create its releases: nothing gives the required input {}", missing.join(", ")),
            Some("give them under `group: { inputs: { ... } }`, name an `input_set`, or give the inputs defaults".into()),
        );
    }
}

/// The process's own freezes, each checked where it is written.
pub fn check_freezes(c: &mut Checker, raw: &[At<FreezeSpec>], process: &str, tz: chrono_tz::Tz) -> Vec<Freeze> {
    raw.iter()
        .filter_map(|f| match f.value.check(tz, FreezeOrigin::Process { process: process.into() }) {
            Ok(freeze) => Some(freeze),
            Err(e) => {
                c.at(f, e, None);
                None
            }
        })
        .collect()
}
