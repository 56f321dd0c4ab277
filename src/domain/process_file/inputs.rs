//! Checks of the `inputs:`, `input_sets:` and `cadence:` sections.

use super::raw::*;
use super::{closest, Checker};
use crate::domain::inputs::check_value;
use crate::domain::process::{Identifies, InputSpec, InputType};
use std::collections::BTreeMap;

pub fn check_inputs(c: &mut Checker, raw: &BTreeMap<String, At<RawInput>>, tz: chrono_tz::Tz) -> Vec<InputSpec> {
    raw.iter().filter_map(|(name, spec)| check_input(c, name, spec, tz)).collect()
}

fn check_input(c: &mut Checker, name: &str, spec: &At<RawInput>, tz: chrono_tz::Tz) -> Option<InputSpec> {
    let s = &spec.value;
    let ty = match s.ty.value.as_str() {
        "string" => InputType::String,
        "text" => InputType::Text,
        "number" => InputType::Number,
        "bool" => InputType::Bool,
        "list" => InputType::List,
        "datetime" => InputType::Datetime,
        "duration" => InputType::Duration,
        "choice" => match &s.options {
            Some(options) if !options.is_empty() => InputType::Choice { options: options.iter().map(|o| o.0.clone()).collect() },
            _ => {
                c.at(&s.ty, format!("input `{name}` is a choice without options"), Some("add `options: [a, b]`".into()));
                return None;
            }
        },
        other => {
            let hint = match closest(other, InputType::NAMES) {
                Some(best) => format!("did you mean `{best}`?"),
                None => format!("write one of {}", InputType::NAMES.join(", ")),
            };
            c.at(&s.ty, format!("input `{name}` has unknown type `{other}`"), Some(hint));
            return None;
        }
    };
    if s.options.is_some() && !matches!(ty, InputType::Choice { .. }) {
        c.at(spec, format!("input `{name}` has `options` but is not a choice"), Some("write `type: choice`, or remove `options`".into()));
    }
    let mut pattern_ok = true;
    if let Some(pattern) = &s.pattern {
        if let Err(e) = regex::Regex::new(&format!("^(?:{})$", pattern.value)) {
            c.at(pattern, format!("input `{name}` has an invalid pattern: {e}"), None);
            pattern_ok = false;
        }
    }
    let input = InputSpec {
        name: name.to_string(),
        ty,
        required: s.required,
        default: s.default.as_ref().map(|d| d.value.0.clone()),
        pattern: s.pattern.as_ref().map(|p| p.value.clone()),
        description: s.description.clone(),
        identifies: s.identifies.as_ref().and_then(|i| {
            let found = Identifies::parse(&i.value);
            if found.is_none() {
                c.at(
                    i,
                    format!("input `{name}` identifies `{}`, which is not something planning knows", i.value),
                    Some(format!("write one of {}", Identifies::NAMES.join(", "))),
                );
            }
            found
        }),
    };
    if let (Some(default), true) = (&s.default, pattern_ok) {
        if let Err(e) = check_value(&input, default.value.0.clone(), tz) {
            c.at(default, format!("the default of input `{name}` is not valid: {e}"), None);
        }
    }
    Some(input)
}

pub fn check_input_sets(
    c: &mut Checker,
    raw: &BTreeMap<String, At<BTreeMap<String, At<SetValue>>>>,
    specs: &[InputSpec],
    tz: chrono_tz::Tz,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut sets = BTreeMap::new();
    for (set, values) in raw {
        if !super::valid_id(set) {
            c.at(values, format!("input set name `{set}` is not valid"), Some(super::ID_RULE.into()));
        }
        let mut out = BTreeMap::new();
        for (key, value) in &values.value {
            match specs.iter().find(|s| &s.name == key) {
                None => {
                    let hint = match closest(key, specs.iter().map(|s| s.name.as_str())) {
                        Some(best) => format!("did you mean `{best}`?"),
                        None => {
                            format!("this process takes {}", specs.iter().map(|s| format!("`{}`", s.name)).collect::<Vec<_>>().join(", "))
                        }
                    };
                    c.at(value, format!("input set `{set}` gives `{key}`, which is not an input"), Some(hint));
                }
                Some(spec) => {
                    if let Err(e) = check_value(spec, value.value.0.clone(), tz) {
                        c.at(value, format!("input set `{set}`: {e}"), None);
                    }
                    out.insert(key.clone(), value.value.0.clone());
                }
            }
        }
        sets.insert(set.clone(), out);
    }
    sets
}

/// A cadence is a 5-field cron expression (minute hour day month weekday).
pub fn check_cadence(c: &mut Checker, cadence: &At<String>) {
    let fields = cadence.value.split_whitespace().count();
    let hint = Some("write 5 fields: minute hour day-of-month month day-of-week, like `0 14 * * thu`".to_string());
    if fields != 5 {
        c.at(cadence, format!("cadence `{}` has {fields} fields", cadence.value), hint);
        return;
    }
    if let Err(e) = cadence.value.parse::<croner::Cron>() {
        c.at(cadence, format!("cadence `{}` is not a valid cron expression: {e}", cadence.value), hint);
    }
}
