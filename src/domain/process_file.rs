//! Loading process files: YAML → raw structs (with source locations) → a validated `Process`.
//! Every problem becomes a `Diagnostic` naming file, line and column and saying what to write
//! instead; all semantic problems of a file are reported at once.

use super::process::*;
use super::template::{self, Names};
use super::{HumanDuration, Principal};
use serde::Deserialize;
use serde_saphyr::Spanned;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n    hint: {hint}")?;
        }
        Ok(())
    }
}

/// A YAML scalar read as text, whatever its YAML type (`18`, `true` and `"x"` all work).
#[derive(Debug, Clone)]
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcess {
    name: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    kind: Option<Spanned<String>>,
    #[serde(default)]
    inputs: BTreeMap<String, Spanned<RawInput>>,
    #[serde(default)]
    variables: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    owners: Option<RawOwners>,
    notices: Spanned<RawNotices>,
    phases: Spanned<Vec<Spanned<RawPhase>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInput {
    #[serde(rename = "type")]
    ty: Spanned<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    default: Option<Spanned<Scalar>>,
    #[serde(default)]
    pattern: Option<Spanned<String>>,
    #[serde(default)]
    options: Option<Vec<Scalar>>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOwners {
    #[serde(default)]
    release_manager: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotices {
    channel: Spanned<Scalar>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhase {
    id: Spanned<String>,
    #[serde(default)]
    owner: Option<Spanned<String>>,
    activities: Vec<Spanned<RawActivity>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActivity {
    id: Spanned<String>,
    #[serde(default)]
    webhook: Option<Spanned<RawWebhook>>,
    #[serde(default)]
    approval: Option<Spanned<RawApproval>>,
    #[serde(default)]
    timeout: Option<Spanned<String>>,
    #[serde(default)]
    retry: Option<Spanned<RawRetry>>,
    #[serde(default)]
    on_failure: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: Spanned<String>,
    #[serde(default)]
    method: Option<Spanned<String>>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    body: Option<serde_json::Value>,
    #[serde(default)]
    secret: Option<Spanned<String>>,
    #[serde(default)]
    outputs: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    completion: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApproval {
    approvers: Vec<Spanned<String>>,
    #[serde(default)]
    min: Option<Spanned<u32>>,
    #[serde(default)]
    forbid_self: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    attempts: Spanned<u32>,
    #[serde(default)]
    backoff: Option<Spanned<String>>,
}

/// Ids name phases and activities in commands, buttons and URLs, so they stay simple.
const ID_RULE: &str = "ids use lowercase letters, digits and `-`, start with a letter, and are at most 40 characters";

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && id.len() <= 40
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Collects diagnostics for one file.
struct Checker<'a> {
    file: &'a str,
    found: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn at<T>(&mut self, span: &Spanned<T>, message: impl Into<String>, hint: Option<String>) {
        self.found.push(Diagnostic {
            file: self.file.to_string(),
            line: span.referenced.line(),
            column: span.referenced.column(),
            message: message.into(),
            hint,
        });
    }

    fn principal(&mut self, raw: &Spanned<String>) -> Option<Principal> {
        match raw.value.parse::<Principal>() {
            Ok(p) => Some(p),
            Err(e) => {
                self.at(raw, e.to_string(), None);
                None
            }
        }
    }

    fn duration(&mut self, raw: &Spanned<String>) -> Option<HumanDuration> {
        match raw.value.parse::<HumanDuration>() {
            Ok(d) => Some(d),
            Err(e) => {
                self.at(raw, e.to_string(), None);
                None
            }
        }
    }

    fn template(&mut self, span: &Spanned<impl Sized>, source: &str, known: &Names) {
        if let Err(e) = template::check(source, known) {
            self.at(span, format!("bad template `{source}`: {e}"), None);
        }
    }
}

/// Parses and validates one process file. `file` is the name used in diagnostics.
pub fn parse(file: &str, source: &str) -> Result<Process, Vec<Diagnostic>> {
    let raw: RawProcess = serde_saphyr::from_str(source).map_err(|e| vec![yaml_diagnostic(file, &e)])?;
    let mut c = Checker { file, found: vec![] };

    if !valid_id(&raw.name.value) {
        c.at(&raw.name, format!("process name `{}` is not valid", raw.name.value), Some(ID_RULE.into()));
    }
    let kind = match &raw.kind {
        None => ReleaseKind::Standard,
        Some(k) => ReleaseKind::parse(&k.value).unwrap_or_else(|| {
            c.at(k, format!("unknown kind `{}`", k.value), Some(format!("write one of {}", ReleaseKind::NAMES.join(", "))));
            ReleaseKind::Standard
        }),
    };

    let mut inputs = vec![];
    for (name, spec) in &raw.inputs {
        if let Some(input) = check_input(&mut c, name, spec) {
            inputs.push(input);
        }
    }
    // Variables read inputs; activity templates also read variables and declared outputs.
    let for_variables = Names::new(raw.inputs.keys(), [], []);
    let mut variables = BTreeMap::new();
    for (name, value) in &raw.variables {
        c.template(value, &value.value, &for_variables);
        variables.insert(name.clone(), value.value.clone());
    }
    let outputs: Vec<(String, String)> = raw
        .phases
        .value
        .iter()
        .flat_map(|p| p.value.activities.iter())
        .filter_map(|a| a.value.webhook.as_ref().map(|w| (a.value.id.value.clone(), w.value.outputs.keys().cloned().collect::<Vec<_>>())))
        .flat_map(|(id, names)| names.into_iter().map(move |n| (id.clone(), n)))
        .collect();
    let for_activities = Names::new(raw.inputs.keys(), raw.variables.keys(), outputs.iter().map(|(a, o)| (a, o)));

    let release_manager = raw.owners.as_ref().and_then(|o| o.release_manager.as_ref()).and_then(|p| c.principal(p));

    let notices_channel = match raw.notices.value.channel.value.0.parse::<u64>() {
        Ok(id) if id > 0 => id,
        _ => {
            c.at(
                &raw.notices.value.channel,
                format!("`{}` is not a channel id", raw.notices.value.channel.value.0),
                Some("write the channel's numeric id (Discord: right-click the channel → Copy Channel ID)".into()),
            );
            0
        }
    };

    if raw.phases.value.is_empty() {
        c.at(&raw.phases, "a process needs at least one phase", None);
    }
    let mut ids: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut phases = vec![];
    for raw_phase in &raw.phases.value {
        let p = &raw_phase.value;
        check_unique_id(&mut c, &mut ids, &p.id);
        if p.activities.is_empty() {
            c.at(
                raw_phase,
                format!("phase `{}` has no activities", p.id.value),
                Some("add at least one activity under `activities:`".into()),
            );
        }
        let owner = p.owner.as_ref().and_then(|o| c.principal(o));
        let mut activities = vec![];
        for raw_activity in &p.activities {
            check_unique_id(&mut c, &mut ids, &raw_activity.value.id);
            if let Some(a) = check_activity(&mut c, raw_activity, &for_activities) {
                activities.push(a);
            }
        }
        phases.push(Phase { id: p.id.value.clone(), owner, activities });
    }

    if !c.found.is_empty() {
        c.found.sort_by_key(|d| (d.line, d.column));
        return Err(c.found);
    }
    let digest = Sha256::digest(source.as_bytes());
    let version = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Ok(Process {
        name: raw.name.value,
        description: raw.description.unwrap_or_default(),
        kind,
        version,
        inputs,
        variables,
        release_manager,
        notices_channel,
        phases,
    })
}

fn check_unique_id(c: &mut Checker, ids: &mut BTreeMap<String, (u64, u64)>, id: &Spanned<String>) {
    if !valid_id(&id.value) {
        c.at(id, format!("id `{}` is not valid", id.value), Some(ID_RULE.into()));
    }
    let here = (id.referenced.line(), id.referenced.column());
    if let Some((line, col)) = ids.insert(id.value.clone(), here) {
        c.at(
            id,
            format!("duplicate id `{}`: it is already used at line {line}, column {col}", id.value),
            Some("phase and activity ids must be unique within a process; rename one".into()),
        );
    }
}

fn check_input(c: &mut Checker, name: &str, spec: &Spanned<RawInput>) -> Option<InputSpec> {
    let s = &spec.value;
    let ty = match s.ty.value.as_str() {
        "string" => InputType::String,
        "text" => InputType::Text,
        "number" => InputType::Number,
        "bool" => InputType::Bool,
        "list" => InputType::List,
        "choice" => match &s.options {
            Some(options) if !options.is_empty() => InputType::Choice { options: options.iter().map(|o| o.0.clone()).collect() },
            _ => {
                c.at(&s.ty, format!("input `{name}` is a choice without options"), Some("add `options: [a, b]`".into()));
                return None;
            }
        },
        other => {
            c.at(
                &s.ty,
                format!("input `{name}` has unknown type `{other}`"),
                Some(format!("write one of {}", InputType::NAMES.join(", "))),
            );
            return None;
        }
    };
    if s.options.is_some() && !matches!(ty, InputType::Choice { .. }) {
        c.at(spec, format!("input `{name}` has `options` but is not a choice"), Some("write `type: choice`, or remove `options`".into()));
    }
    if let Some(pattern) = &s.pattern {
        if let Err(e) = regex::Regex::new(&format!("^(?:{})$", pattern.value)) {
            c.at(pattern, format!("input `{name}` has an invalid pattern: {e}"), None);
        }
    }
    if let Some(default) = &s.default {
        if let InputType::Choice { options } = &ty {
            if !options.contains(&default.value.0) {
                c.at(
                    default,
                    format!("default `{}` of input `{name}` is not one of its options", default.value.0),
                    Some(format!("write one of {}", options.join(", "))),
                );
            }
        }
    }
    Some(InputSpec {
        name: name.to_string(),
        ty,
        required: s.required,
        default: s.default.as_ref().map(|d| d.value.0.clone()),
        pattern: s.pattern.as_ref().map(|p| p.value.clone()),
        description: s.description.clone(),
    })
}

fn check_activity(c: &mut Checker, raw: &Spanned<RawActivity>, known: &Names) -> Option<Activity> {
    let a = &raw.value;
    let kind = match (&a.webhook, &a.approval) {
        (Some(w), None) => ActivityKind::Webhook(check_webhook(c, w, known)),
        (None, Some(ap)) => {
            let approvers: Vec<Principal> = ap.value.approvers.iter().filter_map(|p| c.principal(p)).collect();
            if ap.value.approvers.is_empty() {
                c.at(ap, "an approval needs at least one approver", Some("write `approvers: [\"role:QA\"]`".into()));
            }
            let min = ap.value.min.as_ref().map(|m| m.value).unwrap_or(1);
            if let Some(m) = &ap.value.min {
                if m.value == 0 {
                    c.at(m, "`min` must be at least 1", None);
                }
            }
            ActivityKind::Approval(ApprovalSpec { approvers, min, forbid_self: ap.value.forbid_self.unwrap_or(true) })
        }
        (Some(_), Some(_)) => {
            c.at(
                raw,
                format!("activity `{}` has two kinds", a.id.value),
                Some("an activity is either `webhook:` or `approval:`; split it in two".into()),
            );
            return None;
        }
        (None, None) => {
            c.at(
                raw,
                format!("activity `{}` has no kind", a.id.value),
                Some("add `webhook: {url: ...}` or `approval: {approvers: [...]}`".into()),
            );
            return None;
        }
    };
    let timeout = a.timeout.as_ref().and_then(|t| c.duration(t)).unwrap_or(HumanDuration::from_secs(30));
    let mut retry = Retry::default();
    if let Some(r) = &a.retry {
        if r.value.attempts.value == 0 {
            c.at(&r.value.attempts, "`attempts` counts every try and must be at least 1", None);
        }
        retry.attempts = r.value.attempts.value.max(1);
        if let Some(b) = r.value.backoff.as_ref().and_then(|b| c.duration(b)) {
            retry.backoff = b;
        }
    }
    let on_failure = match a.on_failure.as_ref().map(|o| o.value.as_str()) {
        None | Some("fail") => OnFailure::Fail,
        Some("ignore") => OnFailure::Ignore,
        Some(other) => {
            if let Some(o) = &a.on_failure {
                c.at(o, format!("unknown on_failure `{other}`"), Some("write `fail` or `ignore`".into()));
            }
            OnFailure::Fail
        }
    };
    Some(Activity { id: a.id.value.clone(), kind, timeout, retry, on_failure })
}

fn check_webhook(c: &mut Checker, w: &Spanned<RawWebhook>, known: &Names) -> WebhookSpec {
    let raw = &w.value;
    c.template(&raw.url, &raw.url.value, known);
    let body = raw.body.clone().unwrap_or(serde_json::Value::Null);
    for s in template::strings_in(&body) {
        c.template(w, s, known);
    }
    for value in raw.headers.values() {
        c.template(value, &value.value, known);
    }
    let method = match &raw.method {
        None => HttpMethod::Post,
        Some(m) => HttpMethod::parse(&m.value).unwrap_or_else(|| {
            c.at(m, format!("unknown method `{}`", m.value), Some("write GET, POST, PUT, PATCH or DELETE".into()));
            HttpMethod::Post
        }),
    };
    let secret = raw.secret.as_ref().and_then(|s| match s.value.parse::<SecretRef>() {
        Ok(r) => Some(r),
        Err(e) => {
            c.at(s, e, None);
            None
        }
    });
    let completion = match raw.completion.as_ref().map(|c| c.value.as_str()) {
        None | Some("response") => Completion::Response,
        Some("callback") => Completion::Callback,
        Some(other) => {
            if let Some(span) = &raw.completion {
                c.at(span, format!("unknown completion `{other}`"), Some("write `response` or `callback`".into()));
            }
            Completion::Response
        }
    };
    if completion == Completion::Callback && secret.is_none() {
        c.at(w, "a webhook with `completion: callback` needs a `secret`", Some("callbacks must be signed; add `secret: env:NAME`".into()));
    }
    for path in raw.outputs.values() {
        if path.value.trim().is_empty() || path.value.split('.').any(str::is_empty) {
            c.at(
                path,
                format!("`{}` is not a path into the response", path.value),
                Some("write dotted field names, like `artifact.url`".into()),
            );
        }
    }
    WebhookSpec {
        url: raw.url.value.clone(),
        method,
        headers: raw.headers.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect(),
        body,
        secret,
        outputs: raw.outputs.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect(),
        completion,
    }
}

fn yaml_diagnostic(file: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((1, 1));
    let message = e.without_snippet().to_string();
    // serde-saphyr appends the location to its message; drop it, the prefix says it already.
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    let hint = did_you_mean(&message);
    Diagnostic { file: file.to_string(), line, column, message, hint }
}

/// For serde's "unknown field `x`, expected one of `a`, `b`", suggests the closest expected name.
fn did_you_mean(message: &str) -> Option<String> {
    let unknown = message.split("unknown field `").nth(1)?.split('`').next()?;
    let list = message.split("expected").nth(1)?.trim_start_matches(" one of");
    let expected: Vec<&str> = list.split(',').map(|e| e.trim().trim_matches('`')).filter(|e| !e.is_empty()).collect();
    let best = expected.iter().min_by_key(|e| edit_distance(unknown, e))?;
    if edit_distance(unknown, best) <= best.len().max(3) / 2 {
        Some(format!("did you mean `{best}`?"))
    } else {
        Some(format!("write one of {}", expected.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")))
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != b[j])).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The processes of a directory, by name.
pub type Catalog = BTreeMap<String, Process>;

/// Loads every `*.yaml` / `*.yml` file of `dir`. Errors from all files are returned together.
pub fn load_dir(dir: &Path) -> Result<Catalog, Vec<Diagnostic>> {
    let io_error = |what: String| Diagnostic { file: dir.display().to_string(), line: 1, column: 1, message: what, hint: None };
    let entries = std::fs::read_dir(dir).map_err(|e| vec![io_error(format!("cannot read the processes directory: {e}"))])?;
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    paths.sort();
    let mut catalog = Catalog::new();
    let mut errors = vec![];
    for path in paths {
        let name = path.display().to_string();
        let source = match std::fs::read_to_string(&path) {
            Ok(s) => s,
            Err(e) => {
                errors.push(Diagnostic { file: name, line: 1, column: 1, message: format!("cannot read file: {e}"), hint: None });
                continue;
            }
        };
        match parse(&name, &source) {
            Ok(p) => {
                if catalog.contains_key(&p.name) {
                    errors.push(Diagnostic {
                        file: name,
                        line: 1,
                        column: 1,
                        message: format!("another file already defines process `{}`", p.name),
                        hint: Some("process names must be unique in a directory".into()),
                    });
                } else {
                    catalog.insert(p.name.clone(), p);
                }
            }
            Err(mut d) => errors.append(&mut d),
        }
    }
    if errors.is_empty() {
        Ok(catalog)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests;
