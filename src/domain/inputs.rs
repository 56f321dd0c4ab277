//! Release inputs as typed in chat: `version=1.4.0 services=api,web notes="Fixes checkout"`.
//! `parse_pairs` reads the text; `validate` checks it against the process's input specs and
//! yields `Inputs`, which only exists when every rule holds.

use super::process::{InputSpec, InputType, Process};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InputValue {
    Text(String),
    List(Vec<String>),
}

impl std::fmt::Display for InputValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputValue::Text(s) => f.write_str(s),
            InputValue::List(items) => f.write_str(&items.join(", ")),
        }
    }
}

/// Validated inputs of a release, by name.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Inputs(pub BTreeMap<String, InputValue>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("cannot read inputs at character {position}: {problem}. Write `key=value` pairs separated by spaces; quote values with spaces (`notes=\"Fixes checkout\"`)")]
    Syntax { position: usize, problem: &'static str },
    #[error("input `{0}` is given twice")]
    Duplicate(String),
    #[error("unknown input `{name}`; this process takes {known}")]
    Unknown { name: String, known: String },
    #[error("input `{name}` is required: {expected}")]
    Missing { name: String, expected: String },
    #[error("input `{name}` is `{value}`, which does not match the pattern `{pattern}`")]
    Pattern { name: String, value: String, pattern: String },
    #[error("input `{name}` is `{value}`; write one of {options}")]
    NotAnOption { name: String, value: String, options: String },
    #[error("input `{name}` is `{value}`; {expected}")]
    Type { name: String, value: String, expected: &'static str },
}

/// Splits `key=value key2="quoted value"` into pairs, keeping the order written.
pub fn parse_pairs(text: &str) -> Result<Vec<(String, String)>, InputError> {
    let syntax = |position, problem| InputError::Syntax { position, problem };
    let chars: Vec<char> = text.chars().collect();
    let mut pairs = vec![];
    let mut i = 0;
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i == chars.len() {
            return Ok(pairs);
        }
        let key_start = i;
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[key_start..i].iter().collect();
        if i == chars.len() || chars[i] != '=' {
            return Err(syntax(key_start + 1, "expected `=` after the key"));
        }
        if key.is_empty() {
            return Err(syntax(key_start + 1, "a value has no key before its `=`"));
        }
        i += 1;
        let mut value = String::new();
        if i < chars.len() && (chars[i] == '"' || chars[i] == '\'') {
            let quote = chars[i];
            let open = i;
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(syntax(open + 1, "the quote is never closed")),
                    Some('\\') if quote == '"' && i + 1 < chars.len() => {
                        value.push(chars[i + 1]);
                        i += 2;
                    }
                    Some(c) if *c == quote => {
                        i += 1;
                        break;
                    }
                    Some(c) => {
                        value.push(*c);
                        i += 1;
                    }
                }
            }
            if i < chars.len() && !chars[i].is_whitespace() {
                return Err(syntax(i + 1, "expected a space after the closing quote"));
            }
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                value.push(chars[i]);
                i += 1;
            }
        }
        pairs.push((key, value));
    }
}

/// Checks `pairs` against the process: unknown keys, missing required inputs, types, patterns
/// and options. Defaults fill what is not given.
pub fn validate(process: &Process, pairs: Vec<(String, String)>) -> Result<Inputs, InputError> {
    let mut given: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in pairs {
        if process.input(&key).is_none() {
            return Err(InputError::Unknown { name: key, known: known_inputs(process) });
        }
        if given.insert(key.clone(), value).is_some() {
            return Err(InputError::Duplicate(key));
        }
    }
    let tz = process.time_zone.parse::<chrono_tz::Tz>().unwrap_or(chrono_tz::UTC);
    let mut out = BTreeMap::new();
    for spec in &process.inputs {
        let raw = given.remove(&spec.name).or_else(|| spec.default.clone());
        match raw {
            Some(raw) if !raw.trim().is_empty() || !spec.required => {
                out.insert(spec.name.clone(), check_value(spec, raw, tz)?);
            }
            _ if spec.required => {
                return Err(InputError::Missing { name: spec.name.clone(), expected: describe(spec) });
            }
            _ => {}
        }
    }
    Ok(Inputs(out))
}

/// The required inputs `pairs` leave without a value (no default either), in the process's order:
/// what a form should ask for before `validate` can pass.
pub fn missing_required<'p>(process: &'p Process, pairs: &[(String, String)]) -> Vec<&'p super::process::InputSpec> {
    let given = |name: &str| pairs.iter().any(|(k, v)| k == name && !v.trim().is_empty());
    process.inputs.iter().filter(|i| i.required && i.default.is_none() && !given(&i.name)).collect()
}

fn known_inputs(process: &Process) -> String {
    if process.inputs.is_empty() {
        return "no inputs".into();
    }
    process.inputs.iter().map(|i| format!("`{}`", i.name)).collect::<Vec<_>>().join(", ")
}

/// What a user should write for `spec`, for error messages.
pub fn describe(spec: &InputSpec) -> String {
    let what = match &spec.ty {
        InputType::String | InputType::Text => "text".to_string(),
        InputType::Number => "a number".into(),
        InputType::Bool => "`true` or `false`".into(),
        InputType::List => "a comma-separated list, like `api,web`".into(),
        InputType::Choice { options } => format!("one of {}", options.join(", ")),
        InputType::Datetime => "a time, like `2026-12-03 14:00` or `2026-12-03T13:00:00Z`".into(),
        InputType::Duration => "a duration, like `2h` or `1h30m`".into(),
    };
    let mut out = format!("write `{}=<{}>`", spec.name, what);
    if let Some(p) = &spec.pattern {
        out.push_str(&format!(" matching `{p}`"));
    }
    if let Some(d) = &spec.description {
        out.push_str(&format!(" ({d})"));
    }
    out
}

/// Checks one value against its spec. Datetimes without an offset are read in `tz` and kept in
/// RFC 3339 (UTC), so templates and time locks see one unambiguous form.
pub fn check_value(spec: &InputSpec, raw: String, tz: chrono_tz::Tz) -> Result<InputValue, InputError> {
    let name = spec.name.clone();
    let type_error = |expected| InputError::Type { name: name.clone(), value: raw.clone(), expected };
    let value = match &spec.ty {
        InputType::String | InputType::Text => InputValue::Text(raw.clone()),
        InputType::Number => {
            raw.trim().parse::<f64>().map_err(|_| type_error("write a number"))?;
            InputValue::Text(raw.trim().to_string())
        }
        InputType::Bool => match raw.trim() {
            "true" | "false" => InputValue::Text(raw.trim().to_string()),
            _ => return Err(type_error("write `true` or `false`")),
        },
        InputType::Choice { options } => {
            if !options.contains(&raw) {
                return Err(InputError::NotAnOption { name, value: raw, options: options.join(", ") });
            }
            InputValue::Text(raw.clone())
        }
        InputType::List => InputValue::List(raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()),
        InputType::Datetime => {
            InputValue::Text(parse_datetime(raw.trim(), tz).map_err(type_error)?.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        }
        InputType::Duration => {
            raw.trim().parse::<super::HumanDuration>().map_err(|_| type_error("write a duration, like `2h` or `1h30m`"))?;
            InputValue::Text(raw.trim().to_string())
        }
    };
    if let Some(pattern) = &spec.pattern {
        // Anchored: the whole value (each item of a list) must match.
        let re = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|_| InputError::Pattern {
            name: spec.name.clone(),
            value: raw.clone(),
            pattern: pattern.clone(),
        })?;
        let items = match &value {
            InputValue::Text(s) => vec![s.clone()],
            InputValue::List(items) => items.clone(),
        };
        if let Some(bad) = items.into_iter().find(|s| !re.is_match(s)) {
            return Err(InputError::Pattern { name: spec.name.clone(), value: bad, pattern: pattern.clone() });
        }
    }
    Ok(value)
}

/// RFC 3339, or `YYYY-MM-DD HH:MM` in `tz`.
pub fn parse_datetime(text: &str, tz: chrono_tz::Tz) -> Result<chrono::DateTime<chrono::Utc>, &'static str> {
    use chrono::TimeZone;
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .map_err(|_| "write a time like `2026-12-03 14:00` (in the process's time zone) or `2026-12-03T13:00:00Z`")?;
    match tz.from_local_datetime(&naive).earliest() {
        Some(t) => Ok(t.with_timezone(&chrono::Utc)),
        None => Err("that local time does not exist (the clocks jump over it); pick another time"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_are_read_in_the_process_time_zone_and_kept_in_utc() {
        let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap_or(chrono_tz::UTC);
        let t = parse_datetime("2026-12-03 14:00", berlin).map(|t| t.to_rfc3339());
        assert_eq!(t.as_deref(), Ok("2026-12-03T13:00:00+00:00"));
        assert!(parse_datetime("2026-03-29 02:30", berlin).is_err(), "a time in the daylight-saving gap does not exist");
        assert!(parse_datetime("next thursday", berlin).is_err());
    }

    #[test]
    fn reads_plain_quoted_and_list_values() {
        let pairs = parse_pairs(r#"version=1.4.0 notes="Fixes \"checkout\" bug" services=api,web x=''"#);
        assert_eq!(
            pairs,
            Ok(vec![
                ("version".into(), "1.4.0".into()),
                ("notes".into(), "Fixes \"checkout\" bug".into()),
                ("services".into(), "api,web".into()),
                ("x".into(), "".into()),
            ])
        );
    }

    #[test]
    fn reports_where_the_text_goes_wrong() {
        assert!(matches!(parse_pairs("version"), Err(InputError::Syntax { position: 1, .. })));
        assert!(matches!(parse_pairs("a=1 notes=\"open"), Err(InputError::Syntax { position: 11, .. })));
        assert!(matches!(parse_pairs("=1"), Err(InputError::Syntax { .. })));
        assert!(matches!(parse_pairs("a=\"x\"y"), Err(InputError::Syntax { .. })));
    }

    #[test]
    fn empty_text_is_no_pairs() {
        assert_eq!(parse_pairs("   "), Ok(vec![]));
    }
}
