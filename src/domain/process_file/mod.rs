//! Loading process files: YAML → raw structs (with source locations) → a validated `Process`.
//! Every problem becomes a `Diagnostic` naming file, line and column and saying what to write
//! instead; all semantic problems of a file are reported at once.

use super::process::*;
use super::risk::{RiskLevel, RiskRule};
use super::template::{self, Names, TemplateError};
use super::{ChannelId, GuildId, HumanDuration, Principal};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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

mod activity;
mod catalog;
mod graph;
mod inputs;
mod planning;
pub mod raw;

pub use activity::SubprocessRef;
pub use catalog::{check_against, load_dir, load_paths, load_sources, Catalog};

use activity::Scope;
use graph::Node;
use raw::*;

/// Ids name phases and activities in commands, buttons and URLs, so they stay simple.
const ID_RULE: &str = "ids use lowercase letters, digits and `-`, start with a letter, and are at most 40 characters";

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && id.len() <= 40
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Collects diagnostics for one file.
pub struct Checker<'a> {
    file: &'a str,
    found: Vec<Diagnostic>,
    /// Every `activity → output` the file declares, to tell "not declared" from "not yet run".
    declared_outputs: BTreeSet<String>,
}

impl Checker<'_> {
    fn at<T>(&mut self, span: &At<T>, message: impl Into<String>, hint: Option<String>) {
        self.found.push(Diagnostic { file: self.file.to_string(), line: span.line, column: span.column, message: message.into(), hint });
    }

    fn principal(&mut self, raw: &At<String>) -> Option<Principal> {
        match raw.value.parse::<Principal>() {
            Ok(p) => Some(p),
            Err(e) => {
                self.at(raw, e.to_string(), None);
                None
            }
        }
    }

    fn duration(&mut self, raw: &At<String>) -> Option<HumanDuration> {
        match raw.value.parse::<HumanDuration>() {
            Ok(d) => Some(d),
            Err(e) => {
                self.at(raw, e.to_string(), None);
                None
            }
        }
    }

    fn snowflake(&mut self, raw: &At<Scalar>, what: &str) -> u64 {
        match raw.value.0.parse::<u64>() {
            Ok(id) if id > 0 => id,
            _ => {
                let hint = "write the numeric id (Discord: Developer Mode on, then right-click → Copy ID)";
                self.at(raw, format!("`{}` is not a {what}", raw.value.0), Some(hint.into()));
                0
            }
        }
    }

    /// A channel id; after an error, a placeholder the file is refused with anyway.
    fn channel(&mut self, raw: &At<Scalar>) -> ChannelId {
        match raw.value.0.parse::<u64>() {
            Ok(id) if id > 0 => ChannelId(id),
            _ => {
                self.at(
                    raw,
                    format!("`{}` is not a channel id", raw.value.0),
                    Some("write the channel's numeric id (Discord: right-click the channel → Copy Channel ID)".into()),
                );
                ChannelId(0)
            }
        }
    }

    fn template<T>(&mut self, span: &At<T>, source: &str, known: &Names) {
        if let Err(e) = template::check(source, known) {
            self.template_error(span, source, e, "template");
        }
    }

    fn expression<T>(&mut self, span: &At<T>, source: &str, known: &Names) {
        if let Err(e) = template::check_expression(source, known) {
            self.template_error(span, source, e, "condition");
        }
    }

    fn template_error<T>(&mut self, span: &At<T>, source: &str, e: TemplateError, what: &str) {
        if let TemplateError::Unknown { name, known } = &e {
            if name == "secrets" || name.starts_with("secrets.") {
                let (message, hint) = if known.contains("secrets.") {
                    (
                        format!("{what} `{source}` reads `{name}`, which is not a secret of this process or activity"),
                        "declare it under `secrets:`, like `secrets: { github_token: \"env:GITHUB_TOKEN\" }`",
                    )
                } else {
                    (format!("{what} `{source}` reads `{name}`, but secrets may only be used in requests"), "a secret may appear in a webhook's url, query, headers, body and auth, and in a check's or poll's url and headers; never in names, notices, conditions or anything else people see")
                };
                self.at(span, message, Some(hint.into()));
                return;
            }
            // `activities.<id>.outputs.<name>`: declared, but its activity may not have run yet.
            let mut parts = name.splitn(4, '.');
            if let (Some("activities"), Some(activity), Some("outputs"), Some(output)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            {
                let output = output.split('.').next().unwrap_or(output);
                if self.declared_outputs.contains(&format!("{activity}.{output}")) {
                    let message = format!("{what} `{source}` reads `{name}`, but `{activity}` has not necessarily run by then");
                    let hint = format!("make this depend on `{activity}` (or on its phase) with `depends_on`");
                    self.at(span, message, Some(hint));
                    return;
                }
            }
        }
        self.at(span, format!("bad {what} `{source}`: {e}"), None);
    }
}

/// The JSON Schema of process files, generated from the raw structs (`trainmaster schema`).
pub fn schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(RawProcess).to_value();
    schema["$id"] = "https://trainmaster.dev/process.schema.json".into();
    schema
}

/// What `trainmaster check` and `/process check` say about a load: one line per process or
/// per problem, the same words in the terminal and in chat.
pub fn report(result: &Result<Catalog, Vec<Diagnostic>>) -> String {
    match result {
        Ok(catalog) if catalog.is_empty() => "no process files (*.yaml, *.yml) found".into(),
        Ok(catalog) => catalog
            .values()
            .map(|p| format!("ok: {} (version {}, {} phases)", p.name, p.version, p.phases.len()))
            .collect::<Vec<_>>()
            .join("\n"),
        Err(diagnostics) => {
            let mut lines: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
            lines.push(format!("{} error(s)", diagnostics.len()));
            lines.join("\n")
        }
    }
}

/// The machine-readable form of `report` (`trainmaster check --format json`).
pub fn report_json(result: &Result<Catalog, Vec<Diagnostic>>) -> serde_json::Value {
    match result {
        Ok(catalog) => serde_json::json!({
            "ok": true,
            "processes": catalog.values().map(|p| serde_json::json!({"name": p.name, "version": p.version, "phases": p.phases.len()})).collect::<Vec<_>>(),
            "errors": [],
        }),
        Err(diagnostics) => serde_json::json!({"ok": false, "processes": [], "errors": diagnostics}),
    }
}

/// The closest of `candidates` to `name`, when it is close enough to be a typo.
fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let best = candidates.into_iter().min_by_key(|c| edit_distance(name, c))?;
    (edit_distance(name, best) <= best.len().max(3) / 2).then_some(best)
}

/// Parses and validates one process file. `file` is the name used in diagnostics.
pub fn parse(file: &str, source: &str) -> Result<Process, Vec<Diagnostic>> {
    parse_with_refs(file, source).map(|(p, _)| p)
}

/// Like `parse`, also returning the file's references to other processes (checked by the catalog).
pub fn parse_with_refs(file: &str, source: &str) -> Result<(Process, Vec<SubprocessRef>), Vec<Diagnostic>> {
    let mut raw: RawProcess = serde_saphyr::from_str(source).map_err(|e| vec![yaml_diagnostic(file, &e)])?;
    // Required fields that are missing are diagnostics like any other, reported together with
    // the rest of the file's errors (a missing field used to hide every other error).
    fn top<T>(value: T) -> At<T> {
        At { value, line: 1, column: 1 }
    }
    let (has_name, has_phases) = (raw.name.is_some(), raw.phases.is_some());
    let mut missing = vec![];
    let name = raw.name.take().unwrap_or_else(|| {
        missing.push(("the process has no `name`", "add `name: weekly-production` (lowercase letters, digits and `-`)"));
        top(String::new())
    });
    let raw_phases = raw.phases.take().unwrap_or_else(|| {
        missing.push((
            "the process has no `phases`",
            "add `phases:` with at least one phase, like `- id: deploy` with `activities: [{ id: go, manual: { checklist: \"Deploy\" } }]`",
        ));
        top(vec![])
    });
    let declared_outputs = raw_phases
        .value
        .iter()
        .flat_map(|p| p.value.activities.iter())
        .chain(raw.rollback.iter().flat_map(|r| r.value.activities.iter()))
        .filter_map(|a| a.value.webhook.as_ref().map(|w| (&a.value.id.value, w.value.output_names())))
        .flat_map(|(id, outputs)| outputs.into_iter().map(move |o| format!("{id}.{o}")))
        .collect();
    let mut c = Checker { file, found: vec![], declared_outputs };
    for (message, hint) in missing {
        c.at(&top(()), message, Some(hint.into()));
    }

    if has_name && !valid_id(&name.value) {
        c.at(&name, format!("process name `{}` is not valid", name.value), Some(ID_RULE.into()));
    }
    let kind = match &raw.kind {
        None => ReleaseKind::Standard,
        Some(k) => ReleaseKind::parse(&k.value).unwrap_or_else(|| {
            c.at(k, format!("unknown kind `{}`", k.value), Some(format!("write one of {}", ReleaseKind::NAMES.join(", "))));
            ReleaseKind::Standard
        }),
    };
    let time_zone = match &raw.time_zone {
        None => chrono_tz::UTC,
        Some(tz) => tz.value.parse::<chrono_tz::Tz>().unwrap_or_else(|_| {
            let hint = closest(&tz.value, chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()))
                .map(|best| format!("did you mean `{best}`?"))
                .unwrap_or_else(|| "write an IANA time zone name, like `Europe/Berlin`, `America/New_York` or `UTC`".into());
            c.at(tz, format!("unknown time zone `{}`", tz.value), Some(hint));
            chrono_tz::UTC
        }),
    };
    if let Some(cadence) = &raw.cadence {
        inputs::check_cadence(&mut c, cadence);
    }

    let input_specs = inputs::check_inputs(&mut c, &raw.inputs, time_zone);
    let input_sets = inputs::check_input_sets(&mut c, &raw.input_sets, &input_specs, time_zone);
    let group = planning::check_group(&mut c, &raw, &input_specs, &input_sets, time_zone);
    let freezes = planning::check_freezes(&mut c, &raw.freezes, &name.value, time_zone);

    // Process variables read inputs; everything else also reads variables and outputs.
    let base = Names::new(raw.inputs.keys(), [], []);
    let mut variables = BTreeMap::new();
    for (name, value) in &raw.variables {
        c.template(value, &value.value, &base);
        variables.insert(name.clone(), value.value.clone());
    }
    let process_vars: Vec<String> = raw.variables.keys().cloned().collect();
    let secrets = activity::check_secrets(&mut c, &raw.secrets);
    // Every declared name, even one whose reference is wrong: that error is reported once, at
    // the reference, not again at every use.
    let secret_names: Vec<String> = raw.secrets.keys().filter(|n| crate::domain::secrets::valid_name(n)).cloned().collect();
    let risk = check_risk_rules(&mut c, &raw.risk, &base, &process_vars);

    let owners = raw.owners.as_ref();
    let release_manager = owners.and_then(|o| o.release_manager.as_ref()).and_then(|p| c.principal(p));
    let stakeholders = owners.map(|o| o.stakeholders.iter().filter_map(|p| c.principal(p)).collect()).unwrap_or_default();
    let notices = raw.notices.as_ref().map(|n| &n.value);
    let notices_channel = notices.and_then(|n| n.channel.as_ref()).map(|ch| c.channel(ch));
    let guilds = raw.guilds.iter().map(|g| GuildId(c.snowflake(g, "server (guild) id"))).collect();
    let notices_advance = notices.and_then(|n| n.advance.as_ref()).and_then(|a| c.duration(a));
    let notices_early_access = notices.and_then(|n| n.early_access.clone()).filter(|t| !t.trim().is_empty());

    if has_phases && raw_phases.value.is_empty() {
        c.at(&raw_phases, "a process needs at least one phase", None);
    }
    let mut ids: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let activity_home: BTreeMap<&str, &str> = raw_phases
        .value
        .iter()
        .flat_map(|p| p.value.activities.iter().map(move |a| (a.value.id.value.as_str(), p.value.id.value.as_str())))
        .collect();
    let phase_nodes: Vec<Node> =
        raw_phases.value.iter().map(|p| Node { id: &p.value.id, depends_on: p.value.depends_on.as_deref() }).collect();
    let phase_deps = graph::resolve(&mut c, "phase", &phase_nodes, &|name| {
        activity_home.get(name).map(|phase| format!("an activity of phase `{phase}`"))
    });
    let phase_ancestors = graph::ancestors(&phase_deps);

    let mut refs = vec![];
    let mut phases = vec![];
    for (pi, raw_phase) in raw_phases.value.iter().enumerate() {
        let p = &raw_phase.value;
        check_unique_id(&mut c, &mut ids, &p.id);
        if p.id.value == crate::domain::release::ROLLBACK {
            c.at(
                &p.id,
                "the phase id `rollback` is reserved",
                Some("activities that undo a release go under the top-level `rollback:`; rename this phase".into()),
            );
        }
        if p.activities.is_empty() {
            c.at(
                raw_phase,
                format!("phase `{}` has no activities", p.id.value),
                Some("add at least one activity under `activities:`".into()),
            );
        }
        // Activities of phases that surely ended before this one.
        let before_phase: Vec<&RawActivity> =
            phase_ancestors[pi].iter().flat_map(|&a| raw_phases.value[a].value.activities.iter().map(|x| &x.value)).collect();
        let phase_scope = names_for(&base, &process_vars, p.variables.keys(), &before_phase);
        for value in p.variables.values() {
            c.template(value, &value.value, &names_for(&base, &process_vars, [], &before_phase));
        }
        if let Some(w) = &p.when {
            c.expression(w, &w.value, &phase_scope);
        }
        let owner = p.owner.as_ref().and_then(|o| c.principal(o));
        let phase_vars: Vec<String> = p.variables.keys().cloned().collect();
        let own = &p.id.value;
        let activities = check_activities(
            &mut c,
            &mut ids,
            &p.activities,
            &mut refs,
            ActivityLevel {
                what: "activity",
                other_level: &|name| {
                    if phase_nodes.iter().any(|n| n.id.value == name) {
                        Some("a phase".to_string())
                    } else {
                        activity_home.get(name).filter(|home| *home != own).map(|home| format!("an activity of phase `{home}`"))
                    }
                },
                base: &base,
                vars: [process_vars.clone(), phase_vars].concat(),
                before: &before_phase,
                in_rollback: false,
                has_rollback: raw.rollback.is_some(),
                secrets: &secret_names,
            },
        );
        let depends_on = phase_deps[pi].iter().map(|&d| raw_phases.value[d].value.id.value.clone()).collect();
        phases.push(Phase {
            id: p.id.value.clone(),
            owner,
            depends_on,
            variables: p.variables.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect(),
            when: p.when.as_ref().map(|w| w.value.clone()),
            activities,
        });
    }

    let rollback = match &raw.rollback {
        None => vec![],
        Some(r) => {
            if r.value.activities.is_empty() {
                c.at(
                    r,
                    "the rollback has no activities",
                    Some("add activities under `rollback: {activities: [...]}`, or remove it".into()),
                );
            }
            check_activities(
                &mut c,
                &mut ids,
                &r.value.activities,
                &mut refs,
                ActivityLevel {
                    what: "rollback activity",
                    other_level: &|name| {
                        activity_home
                            .get(name)
                            .map(|home| format!("an activity of phase `{home}` in the main flow, which a rollback cannot wait for"))
                    },
                    base: &base,
                    vars: process_vars.clone(),
                    before: &[],
                    in_rollback: true,
                    has_rollback: true,
                    secrets: &secret_names,
                },
            )
        }
    };

    if !c.found.is_empty() {
        c.found.sort_by_key(|d| (d.line, d.column));
        c.found.dedup();
        return Err(c.found);
    }
    let digest = Sha256::digest(source.as_bytes());
    let version = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let process = Process {
        model: MODEL_VERSION,
        name: name.value,
        description: raw.description.unwrap_or_default(),
        kind,
        version,
        time_zone: time_zone.name().to_string(),
        cadence: raw.cadence.map(|c| c.value),
        inputs: input_specs,
        input_sets,
        variables,
        release_manager,
        stakeholders,
        notices_channel,
        notices_advance,
        phases,
        rollback,
        children: BTreeMap::new(),
        risk,
        secrets,
        guilds,
        group,
        freezes,
        early_access: notices_early_access,
    };
    Ok((process, refs))
}

fn check_risk_rules(c: &mut Checker, rules: &[At<RawRiskRule>], base: &Names, vars: &[String]) -> Vec<RiskRule> {
    let known = names_for(base, vars, [], &[]).with(crate::domain::risk::CLOCK_NAMES.map(String::from));
    let mut out = vec![];
    for rule in rules {
        let r = &rule.value;
        c.expression(&r.when, &r.when.value, &known);
        let Some(level) = RiskLevel::parse(&r.level.value) else {
            c.at(
                &r.level,
                format!("unknown risk level `{}`", r.level.value),
                Some(format!("write one of {}", RiskLevel::NAMES.join(", "))),
            );
            continue;
        };
        if r.because.value.trim().is_empty() {
            c.at(&r.because, "say why this rule raises the risk; people read it on the card", None);
        }
        out.push(RiskRule { when: r.when.value.clone(), level, because: r.because.value.trim().to_string() });
    }
    out
}

/// How one list of sibling activities is checked.
struct ActivityLevel<'a> {
    what: &'a str,
    other_level: &'a dyn Fn(&str) -> Option<String>,
    base: &'a Names,
    /// Variables of the enclosing scopes.
    vars: Vec<String>,
    /// Activities that surely ended before any of these starts.
    before: &'a [&'a RawActivity],
    in_rollback: bool,
    has_rollback: bool,
    secrets: &'a [String],
}

fn check_activities(
    c: &mut Checker,
    ids: &mut BTreeMap<String, (u64, u64)>,
    list: &[At<RawActivity>],
    refs: &mut Vec<SubprocessRef>,
    level: ActivityLevel,
) -> Vec<Activity> {
    let nodes: Vec<Node> = list.iter().map(|a| Node { id: &a.value.id, depends_on: a.value.depends_on.as_deref() }).collect();
    let deps = graph::resolve(c, level.what, &nodes, level.other_level);
    let ancestors = graph::ancestors(&deps);
    let mut out = vec![];
    for (ai, raw_activity) in list.iter().enumerate() {
        let a = &raw_activity.value;
        check_unique_id(c, ids, &a.id);
        let mut visible: Vec<&RawActivity> = level.before.to_vec();
        visible.extend(ancestors[ai].iter().map(|&x| &list[x].value));
        let for_vars = names_for(level.base, &level.vars, [], &visible);
        for value in a.variables.values() {
            c.template(value, &value.value, &for_vars);
        }
        let names = names_for(level.base, &level.vars, a.variables.keys(), &visible);
        let scope = Scope { names: &names, in_rollback: level.in_rollback, has_rollback: level.has_rollback, secrets: level.secrets };
        if let Some(mut activity) = activity::check_activity(c, raw_activity, &scope, refs) {
            activity.depends_on = deps[ai].iter().map(|&d| list[d].value.id.value.clone()).collect();
            out.push(activity);
        }
    }
    out
}

/// Inputs and release fields, the given variables, and the outputs and statuses of `ran`.
fn names_for<'a>(base: &Names, vars: &'a [String], more_vars: impl IntoIterator<Item = &'a String>, ran: &[&RawActivity]) -> Names {
    let vars = vars.iter().chain(more_vars).map(|v| format!("vars.{v}"));
    let statuses = ran.iter().map(|a| format!("activities.{}.status", a.id.value));
    let outputs = ran.iter().flat_map(|a| {
        a.webhook
            .iter()
            .flat_map(move |w| w.value.output_names().into_iter().map(move |o| format!("activities.{}.outputs.{o}", a.id.value)))
    });
    base.clone().with(vars.chain(statuses).chain(outputs))
}

fn check_unique_id(c: &mut Checker, ids: &mut BTreeMap<String, (u64, u64)>, id: &At<String>) {
    if !valid_id(&id.value) {
        c.at(id, format!("id `{}` is not valid", id.value), Some(ID_RULE.into()));
    }
    if let Some((line, col)) = ids.insert(id.value.clone(), (id.line, id.column)) {
        c.at(
            id,
            format!("duplicate id `{}`: it is already used at line {line}, column {col}", id.value),
            Some("phase and activity ids must be unique within a process; rename one".into()),
        );
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
    if let Some(best) = closest(unknown, expected.iter().copied()) {
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

#[cfg(test)]
mod request_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod validation_tests;
