//! Every validation of the process model: message and position.

use super::*;

/// A small process using every section; tests break one thing at a time.
const DAG: &str = r#"name: dag
time_zone: Europe/Berlin
cadence: "0 14 * * thu"
inputs:
  version: { type: string, required: true }
  window: { type: datetime }
  soak: { type: duration, default: 10m }
input_sets:
  eu: { version: 1.0.0 }
variables:
  tag: "v{{ inputs.version }}"
notices: { channel: "1" }
phases:
  - id: build
    activities:
      - id: compile
        webhook: { url: "https://ci/build", outputs: { url: artifact.url } }
      - id: lint
        depends_on: []
        webhook: { url: "https://ci/lint" }
      - id: package
        depends_on: [compile, lint]
        webhook: { url: "{{ activities.compile.outputs.url }}" }
  - id: docs
    depends_on: []
    activities:
      - { id: announce, notice: { message: "building {{ vars.tag }}" } }
  - id: ship
    depends_on: [build, docs]
    variables: { target: "prod-{{ vars.tag }}" }
    activities:
      - { id: hold, wait: { not_before: "thu 14:00" } }
      - { id: deploy, webhook: { url: "https://cd/{{ vars.target }}/{{ activities.compile.outputs.url }}" }, on_failure: rollback }
      - { id: smoke, when: "inputs.version != '0.0.0'", webhook: { url: "https://qa/smoke" }, critical: false }
rollback:
  activities:
    - { id: revert, webhook: { url: "https://cd/revert" } }
group: { input_set: eu, name: "Week {{ iso_week }}", duration: 2h }
"#;

pub(super) fn errors(source: &str) -> Vec<Diagnostic> {
    parse("p.yaml", source).err().unwrap_or_default()
}

/// The single error of `source`, as `line:col: message`.
pub(super) fn one_error(source: &str) -> Diagnostic {
    let e = errors(source);
    assert_eq!(e.len(), 1, "expected one error, got {e:#?}");
    e.into_iter().next().unwrap_or_else(|| unreachable!())
}

#[test]
fn a_dag_process_loads_with_explicit_dependencies() {
    let p = parse("p.yaml", DAG).unwrap_or_else(|e| panic!("{e:#?}"));
    let deps = |id: &str| p.phases.iter().find(|ph| ph.id == id).map(|ph| ph.depends_on.clone()).unwrap_or_default();
    assert_eq!(deps("build"), Vec::<String>::new());
    assert_eq!(deps("docs"), Vec::<String>::new());
    assert_eq!(deps("ship"), ["build", "docs"]);
    assert_eq!(p.activity("package").map(|a| a.depends_on.clone()), Some(vec!["compile".to_string(), "lint".to_string()]));
    assert_eq!(p.activity("compile").map(|a| a.depends_on.len()), Some(0), "a list with depends_on anywhere is a DAG");
    // No depends_on in ship's list: file order.
    assert_eq!(p.activity("deploy").map(|a| a.depends_on.clone()), Some(vec!["hold".to_string()]));
    assert_eq!(p.time_zone, "Europe/Berlin");
    assert_eq!(p.input_sets.get("eu").and_then(|s| s.get("version")).map(String::as_str), Some("1.0.0"));
    assert_eq!(p.rollback.len(), 1);
    assert_eq!(p.activity("smoke").map(|a| a.critical), Some(false));
}

#[test]
fn a_file_without_depends_on_runs_in_file_order() {
    let p = parse("p.yaml", include_str!("../../../processes/weekly-production.yaml")).unwrap_or_else(|e| panic!("{e:#?}"));
    let order: Vec<Vec<String>> = p.phases.iter().map(|ph| ph.depends_on.clone()).collect();
    assert_eq!(order, [vec![], vec!["build".to_string()], vec!["qa".to_string()]]);
}

#[test]
fn a_cycle_is_named_in_full() {
    let src = DAG.replace(
        "    depends_on: []\n    activities:\n      - { id: announce",
        "    depends_on: [ship]\n    activities:\n      - { id: announce",
    );
    let e = one_error(&src);
    assert_eq!(e.message, "phases depend on each other in a cycle: docs → ship → docs");
    assert!(e.hint.as_deref().is_some_and(|h| h.contains("remove one")), "{e}");
}

#[test]
fn an_activity_cycle_is_found_among_siblings() {
    let src = DAG.replace("      - id: compile\n", "      - id: compile\n        depends_on: [package]\n");
    let e = errors(&src);
    assert_eq!(e[0].message, "activities depend on each other in a cycle: compile → package → compile", "{e:#?}");
    assert_eq!((e[0].line, e[0].column), (23, 22), "at the edge that closes the cycle");
}

#[test]
fn depends_on_a_missing_id_suggests_the_closest() {
    let all = errors(&DAG.replace("depends_on: [compile, lint]", "depends_on: [compiel, lint]"));
    // Without the dependency, package's read of compile's output is also refused.
    assert_eq!(all.len(), 2, "{all:#?}");
    let e = &all[0];
    assert_eq!(e.message, "activity `package` depends on `compiel`, which does not exist");
    assert_eq!(e.hint.as_deref(), Some("did you mean `compile`?"));
    assert_eq!((e.line, e.column), (22, 22));
}

#[test]
fn depends_on_across_levels_says_where_the_id_lives() {
    let e = one_error(&DAG.replace("depends_on: [build, docs]", "depends_on: [build, announce]"));
    assert_eq!(e.message, "phase `ship` depends on `announce`, which is not a sibling phase");
    assert!(e.hint.as_deref().is_some_and(|h| h.contains("an activity of phase `docs`")), "{e}");
    let e = one_error(&DAG.replace("depends_on: [compile, lint]", "depends_on: [compile, announce]"));
    assert_eq!(e.message, "activity `package` depends on `announce`, which is not a sibling activity");
    assert!(e.hint.as_deref().is_some_and(|h| h.contains("phase `docs`")), "{e}");
}

#[test]
fn an_output_read_before_its_activity_can_have_run_is_refused() {
    // docs runs in parallel with build, so compile's output may not exist yet.
    let src = DAG.replace("building {{ vars.tag }}", "building {{ activities.compile.outputs.url }}");
    let e = one_error(&src);
    assert!(e.message.contains("`compile` has not necessarily run by then"), "{e}");
    assert!(e.hint.as_deref().is_some_and(|h| h.contains("depends_on")), "{e}");
}

#[test]
fn an_undeclared_output_is_an_unknown_name() {
    let e = one_error(&DAG.replace("url: \"{{ activities.compile.outputs.url }}\"", "url: \"{{ activities.compile.outputs.uri }}\""));
    assert!(e.message.contains("`activities.compile.outputs.uri`, which is not defined"), "{e}");
}

#[test]
fn phase_variables_are_visible_only_inside_their_phase() {
    let e = one_error(&DAG.replace("building {{ vars.tag }}", "building {{ vars.target }}"));
    assert!(e.message.contains("vars.target"), "{e}");
}

#[test]
fn rollback_needs_a_rollback_section_and_cannot_wait_for_the_main_flow() {
    let group = DAG.lines().last().unwrap_or_default();
    let no_section = format!("{}{group}\n", DAG.split("rollback:\n  activities:").next().unwrap_or_default());
    let e = one_error(&no_section);
    assert!(e.message.contains("rolls back on failure, but the process has no `rollback:` section"), "{e}");
    let e = one_error(&DAG.replace("{ id: revert,", "{ id: revert, depends_on: [deploy],"));
    assert!(e.message.contains("rollback activity `revert` depends on `deploy`"), "{e}");
    assert!(e.hint.as_deref().is_some_and(|h| h.contains("main flow")), "{e}");
}

#[test]
fn bad_values_are_reported_where_they_are_written() {
    let cases: &[(&str, &str, &str)] = &[
        ("time_zone: Europe/Berlin", "time_zone: Europe/Berln", "unknown time zone `Europe/Berln`"),
        ("cadence: \"0 14 * * thu\"", "cadence: \"0 14 * *\"", "cadence `0 14 * *` has 4 fields"),
        ("cadence: \"0 14 * * thu\"", "cadence: \"0 25 * * thu\"", "not a valid cron expression"),
        ("not_before: \"thu 14:00\"", "not_before: \"thursday 25:00\"", "is not a time"),
        ("default: 10m", "default: 10 minutes", "the default of input `soak` is not valid"),
        ("version: 1.0.0 }", "versoin: 1.0.0 }", "input set `eu` gives `versoin`, which is not an input"),
        ("when: \"inputs.version != '0.0.0'\"", "when: \"inputs.version !=\"", "bad condition"),
        ("when: \"inputs.version != '0.0.0'\"", "when: \"inputs.verison == '1'\"", "inputs.verison"),
        (
            "critical: false",
            "critical: false, timeout: 5m, retry: { attempts: 2, backoff: 1m, max_backoff: 10s }",
            "`max_backoff` (10s) is shorter",
        ),
        ("{ id: hold, wait: { not_before: \"thu 14:00\" } }", "{ id: hold, wait: { duration: 1h, not_before: \"14:00\" } }", "not several"),
        (
            "{ id: hold, wait: { not_before: \"thu 14:00\" } }",
            "{ id: hold, wait: { duration: 1h }, timeout: 5m }",
            "`timeout` has no meaning for a wait activity",
        ),
        ("  - id: docs\n", "  - id: rollback\n", "the phase id `rollback` is reserved"),
        ("on_failure: rollback", "on_failure: retreat", "unknown on_failure `retreat`"),
    ];
    for (from, to, expected) in cases {
        assert!(DAG.contains(from), "test case does not apply: {from}");
        let src = DAG.replace(from, to);
        let e = errors(&src);
        assert!(e.iter().any(|d| d.message.contains(expected)), "{to}: expected `{expected}`, got {e:#?}");
        let line = src.lines().position(|l| l.contains(to.lines().next().unwrap_or(to).trim())).map(|i| i as u64 + 1);
        assert!(e.iter().any(|d| Some(d.line) == line), "{to}: expected an error on line {line:?}, got {e:#?}");
    }
}

#[test]
fn a_time_zone_typo_gets_a_suggestion() {
    let e = one_error(&DAG.replace("time_zone: Europe/Berlin", "time_zone: Europe/Berln"));
    assert_eq!(e.hint.as_deref(), Some("did you mean `Europe/Berlin`?"));
}

#[test]
fn an_activity_with_two_kinds_or_none_is_refused() {
    let e = one_error(&DAG.replace("{ id: announce, notice:", "{ id: announce, wait: { duration: 1m }, notice:"));
    assert!(e.message.contains("has 2 kinds: wait, notice"), "{e}");
    let e = one_error(&DAG.replace("{ id: announce, notice: { message: \"building {{ vars.tag }}\" } }", "{ id: announce }"));
    assert!(e.message.contains("has no kind"), "{e}");
}

#[test]
fn check_manual_and_subprocess_activities_are_checked() {
    let src = DAG.replace(
        "      - { id: announce, notice: { message: \"building {{ vars.tag }}\" } }",
        "      - { id: announce, check: { url: \"https://m/{{ inputs.version }}\", interval: 0s, condition: \"response.error_rate < \" } }\n      - { id: sign, manual: { checklist: \"{{ inputs.nope }}\" } }\n      - { id: child, subprocess: { process: Hotfix } }",
    );
    let e = errors(&src);
    let messages: Vec<&str> = e.iter().map(|d| d.message.as_str()).collect();
    assert!(messages.iter().any(|m| m.contains("at most every second")), "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("bad condition")), "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("inputs.nope")), "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("`Hotfix` is not a process name")), "{messages:#?}");
}

#[test]
fn a_condition_over_the_response_is_allowed_in_a_check() {
    let src = DAG.replace(
        "      - { id: announce, notice: { message: \"building {{ vars.tag }}\" } }",
        "      - { id: announce, check: { url: \"https://m\", condition: \"response.error_rate < 0.01\" }, timeout: 30m }",
    );
    assert!(parse("p.yaml", &src).is_ok(), "{:#?}", errors(&src));
}

/// DAG with one approval (`spec` as flow-style YAML) added to the `docs` phase.
fn with_approval(spec: &str) -> String {
    DAG.replace(
        "      - { id: announce, notice: { message: \"building {{ vars.tag }}\" } }\n",
        &format!("      - {{ id: announce, notice: {{ message: \"building {{{{ vars.tag }}}}\" }} }}\n      - {{ id: gate, approval: {spec} }}\n"),
    )
}

#[test]
fn approval_levels_groups_locks_and_expiry_load_into_the_model() {
    let spec = r#"{ levels: [{ name: business, approvers: ["role:Product"] }, { name: security, require: [{ from: "role:Security", min: 2 }] }], auto_approve_if: "release.risk == 'low'", wait: 1h, expires_after: 1d, on_expiry: escalate, escalate_to: ["role:Managers"], remind_after: 4h }"#;
    let p = parse("p.yaml", &with_approval(spec)).unwrap_or_else(|e| panic!("{e:#?}"));
    let Some(ActivityKind::Approval(a)) = p.activity("gate").map(|a| a.kind.clone()) else { panic!("no approval") };
    let levels = a.levels();
    assert_eq!(
        levels.iter().map(|l| (l.name.as_str(), l.min)).collect::<Vec<_>>(),
        [("business", 1), ("security", 2)],
        "min defaults to the groups' sum"
    );
    assert_eq!(a.not_before, Some(ApprovalLock::After(HumanDuration::from_secs(3_600))));
    assert!(matches!(a.on_expiry, OnExpiry::Escalate(ref to) if to.len() == 1));
    assert_eq!(a.remind_after, Some(HumanDuration::from_secs(4 * 3_600)));
}

#[test]
fn approval_options_that_contradict_each_other_are_refused_where_they_are() {
    let cases = [
        (r#"{ approvers: ["role:QA"], levels: [{ name: a, approvers: ["role:QA"] }] }"#, "either `levels` or `approvers`"),
        (r#"{ require: [{ from: "role:QA", min: 2 }], min: 1 }"#, "`min: 1` is less than the 2 approvers"),
        (r#"{ approvers: ["role:QA"], wait: 1h, not_before: "thu 14:00" }"#, "one time lock"),
        (r#"{ approvers: ["role:QA"], expires_after: 1d, on_expiry: escalate }"#, "needs someone to escalate to"),
        (r#"{ approvers: ["role:QA"], on_expiry: fail }"#, "`on_expiry` needs `expires_after`"),
        (r#"{ approvers: ["role:QA"], remind_after: 10s }"#, "too short"),
        (r#"{ approvers: ["role:QA"], auto_approve_if: "release.riks == 'low'" }"#, "release.riks"),
        (r#"{ levels: [{ name: a, approvers: ["role:QA"] }, { name: a, approvers: ["role:Ops"] }] }"#, "named twice"),
        (r#"{ levels: [{ name: a }] }"#, "needs at least one approver"),
    ];
    for (spec, expected) in cases {
        let e = one_error(&with_approval(spec));
        assert!(e.message.contains(expected), "{spec}: {e}");
        assert_eq!(e.line, 28, "{spec}: {e}");
    }
}

#[test]
fn risk_rules_read_inputs_and_the_clock_and_name_a_known_level() {
    let rules = "risk:\n  - { when: \"clock.hour >= 17\", level: high, because: after hours }\n  - { when: \"inputs.version == '0.0.0'\", level: severe, because: x }\nnotices:";
    let e = one_error(&DAG.replace("notices:", rules));
    assert_eq!((e.message.as_str(), e.line), ("unknown risk level `severe`", 14));
    let typo = "risk:\n  - { when: \"inputs.verison == '1'\", level: high, because: x }\nnotices:";
    assert!(one_error(&DAG.replace("notices:", typo)).message.contains("inputs.verison"));
}

#[test]
fn guilds_name_servers_by_id() {
    let p = parse("p.yaml", &DAG.replace("name: dag\n", "name: dag\nguilds: [\"42\", 43]\n")).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(p.guilds, [GuildId(42), GuildId(43)]);
    assert!(p.available_in(GuildId(42)) && !p.available_in(GuildId(44)));
    let e = one_error(&DAG.replace("name: dag\n", "name: dag\nguilds: [\"Sandbox\"]\n"));
    assert_eq!((e.line, e.message.as_str()), (2, "`Sandbox` is not a server (guild) id"), "{e}");
}

#[test]
fn a_release_group_reads_its_block_and_every_field_has_a_default() {
    let p = parse("p.yaml", DAG).unwrap_or_else(|e| panic!("{e:#?}"));
    let group = p.group.unwrap_or_else(|| panic!("a cadence makes a group"));
    assert_eq!((group.horizon, group.name.as_str(), group.input_set.as_deref()), (4, "Week {{ iso_week }}", Some("eu")));
    assert_eq!(group.duration.to_string(), "2h");
}

#[test]
fn a_group_that_leaves_a_required_input_ungiven_is_refused_where_it_is_written() {
    let e = one_error(&DAG.replace("group: { input_set: eu, name: \"Week {{ iso_week }}\", duration: 2h }", "group: { horizon: 2 }"));
    assert_eq!((e.line, e.column), (38, 8));
    assert!(e.message.contains("nothing gives the required input `version`"), "{}", e.message);
}

#[test]
fn group_fields_are_checked_with_their_place() {
    let e = one_error(&DAG.replace("name: \"Week {{ iso_week }}\"", "name: \"Week {{ isoweek }}\""));
    assert!(e.message.contains("isoweek") && e.hint.as_deref().unwrap_or_default().contains("iso_week"), "{e:?}");
    let e = one_error(&DAG.replace("duration: 2h }", "duration: 2h, missed: later }"));
    assert!(e.message.contains("`missed: later`"), "{e:?}");
    let e = one_error(&DAG.replace("duration: 2h }", "duration: 2h, horizon: 99 }"));
    assert!(e.message.contains("horizon: 99"), "{e:?}");
    let e = one_error(&DAG.replace("cadence: \"0 14 * * thu\"\n", ""));
    assert!(e.message.contains("a `group` needs a `cadence`"), "{e:?}");
}

#[test]
fn a_freeze_in_a_process_file_is_checked_where_it_is_written() {
    let good = DAG.replace("inputs:\n", "freezes:\n  - { name: Year-end, from: 2026-12-20, to: 2027-01-04, allow: [hotfix] }\ninputs:\n");
    let p = parse("p.yaml", &good).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(p.freezes.len(), 1);
    let bad = DAG.replace("inputs:\n", "freezes:\n  - { name: Year-end, from: 2026-12-20 }\ninputs:\n");
    let e = one_error(&bad);
    assert_eq!((e.line, e.column), (5, 5));
    assert!(e.message.contains("needs either `from` and `to`"), "{e:?}");
}

#[test]
fn an_input_identifies_one_of_the_known_things() {
    let p = parse(
        "p.yaml",
        &DAG.replace("window: { type: datetime }", "window: { type: datetime }\n  env: { type: string, identifies: environment }"),
    )
    .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(p.inputs.iter().find(|i| i.name == "env").and_then(|i| i.identifies), Some(crate::domain::process::Identifies::Environment));
    let e = one_error(&DAG.replace("window: { type: datetime }", "window: { type: datetime, identifies: env }"));
    assert!(e.message.contains("identifies `env`") && e.hint.as_deref().unwrap_or_default().contains("environment"), "{e:?}");
}

#[test]
fn collects_changes_needs_a_webhook_with_an_output_changes_and_says_where() {
    let collecting = "      - id: compile\n        collects: changes\n        webhook: { url: \"https://ci/build\", outputs: { url: artifact.url, changes: prs } }";
    let base = "      - id: compile\n        webhook: { url: \"https://ci/build\", outputs: { url: artifact.url } }";
    let p = parse("p.yaml", &DAG.replace(base, collecting)).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(p.activity("compile").map(|a| a.collects.clone()), Some(vec![crate::domain::process::Identifies::Changes]));
    let without_output = DAG.replace(
        base,
        "      - id: compile\n        collects: changes\n        webhook: { url: \"https://ci/build\", outputs: { url: artifact.url } }",
    );
    let e = one_error(&without_output);
    assert_eq!((e.line, e.column), (17, 19), "at the value of `collects`: {e}");
    assert!(
        e.message.contains("has no output `changes`") && e.hint.as_deref().unwrap_or_default().contains("outputs: { changes:"),
        "{e:?}"
    );
    let e = one_error(&DAG.replace(base, collecting.replace("collects: changes", "collects: commits").as_str()));
    assert_eq!((e.line, e.message.as_str()), (17, "an activity cannot collect `commits`"), "{e}");
    let both =
        collecting.replace("collects: changes", "collects: [changes, version]").replace("changes: prs", "changes: prs, version: build.v");
    let p = parse("p.yaml", &DAG.replace(base, &both)).unwrap_or_else(|e| panic!("{e:#?}"));
    use crate::domain::process::Identifies::{Changes, Version};
    assert_eq!(p.activity("compile").map(|a| a.collects.clone()), Some(vec![Changes, Version]));
    let e = one_error(&DAG.replace(base, &both.replace("[changes, version]", "[changes, versions]")));
    assert!(e.message.contains("cannot collect `versions`") && e.hint.as_deref().unwrap_or_default().contains("`version`"), "{e:?}");
    let e = one_error(&DAG.replace("{ id: announce, notice:", "{ id: announce, collects: changes, notice:"));
    assert!(e.message.contains("`announce` collects changes but has no output"), "{e}");
}
