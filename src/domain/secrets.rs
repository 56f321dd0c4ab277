//! Secrets in requests. A process names where a secret is (`env:NAME`, `file:PATH`), never its
//! value, and its request templates read it as `{{ secrets.<name> }}`. Requests are rendered when
//! a try is decided and stored in the outbox, so the secret cannot be in them: templates render
//! a placeholder, and the webhook adapter swaps in the value at send time. Nothing stored,
//! audited, logged or posted ever holds more than the placeholder, which names the secret only.

use std::collections::BTreeMap;

const PREFIX: &str = "__tm_secret_";
const SUFFIX: &str = "__";

/// What `{{ secrets.<name> }}` renders to until the request is sent.
pub fn placeholder(name: &str) -> String {
    format!("{PREFIX}{name}{SUFFIX}")
}

/// The `secrets` object templates see: each name mapped to its placeholder.
pub fn placeholders<'a>(names: impl IntoIterator<Item = &'a String>) -> serde_json::Value {
    serde_json::Value::Object(names.into_iter().map(|n| (n.clone(), serde_json::Value::String(placeholder(n)))).collect())
}

/// Secret names are what templates write after `secrets.`: letters, digits and `_`, starting
/// with a letter and not ending with `_` (so one placeholder never contains another).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.ends_with('_')
        && name.len() <= 64
}

/// The names whose placeholders appear in `text`.
pub fn referenced<'a>(text: &str, names: impl IntoIterator<Item = &'a String>) -> Vec<&'a String> {
    names.into_iter().filter(|n| text.contains(&placeholder(n))).collect()
}

/// `text` with each placeholder replaced by its secret's value. A placeholder a template filter
/// changed (`| upper`, `| urlencode`) can no longer be recognised; rather than send it, this
/// refuses, naming no value.
pub fn reveal(text: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = text.to_string();
    for (name, value) in values {
        out = out.replace(&placeholder(name), value);
    }
    if out.to_ascii_lowercase().contains(PREFIX) || out.contains("__tm%5Fsecret") {
        return Err("a secret's placeholder was changed by a template filter; write `{{ secrets.<name> }}` as it is".into());
    }
    Ok(out)
}

/// `text` with every secret value replaced by `***`: for anything that may echo a request
/// (an answer's body in a failure reason, an error naming a URL).
pub fn redact(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    for value in values.values().filter(|v| v.len() >= 4) {
        out = out.replace(value.as_str(), "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> BTreeMap<String, String> {
        [("gh".to_string(), "ghp_s3cret".to_string()), ("gh2".to_string(), "other".to_string())].into()
    }

    #[test]
    fn placeholders_are_swapped_for_values_and_never_overlap() {
        let text = format!("Bearer {} / {}", placeholder("gh"), placeholder("gh2"));
        assert_eq!(reveal(&text, &values()), Ok("Bearer ghp_s3cret / other".to_string()));
        assert_eq!(referenced(&text, ["gh".to_string(), "x".to_string()].iter()), vec!["gh"]);
    }

    #[test]
    fn a_placeholder_changed_by_a_filter_is_refused_not_sent() {
        let upper = placeholder("gh").to_uppercase();
        assert!(reveal(&upper, &values()).is_err_and(|e| e.contains("filter") && !e.contains("ghp_s3cret")));
        assert!(reveal("__tm%5Fsecret%5Fgh__", &values()).is_err());
    }

    #[test]
    fn values_are_redacted_from_echoed_text() {
        assert_eq!(redact("bad credentials: ghp_s3cret", &values()), "bad credentials: ***");
    }

    #[test]
    fn names_are_simple_and_never_end_with_an_underscore() {
        assert!(valid_name("gh") && valid_name("jenkins_token") && valid_name("A1"));
        assert!(!valid_name("gh_") && !valid_name("1gh") && !valid_name("g-h") && !valid_name(""));
    }
}
