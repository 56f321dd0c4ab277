//! The release as a DAG: parallel starts, `when:` skips, failure strategies, rollback, waits.

use super::*;
use crate::domain::inputs::{parse_pairs, validate};
use crate::domain::process::WeeklyTime;
use crate::domain::process_file::parse;
use crate::domain::release::Poll;
use chrono::TimeZone;

const DAG: &str = r#"name: dag
time_zone: Europe/Berlin
inputs:
  version: { type: string, required: true }
notices: { channel: "1" }
phases:
  - id: build
    activities:
      - { id: compile, webhook: { url: "https://ci/compile" } }
      - { id: lint, depends_on: [], webhook: { url: "https://ci/lint" }, critical: false }
      - { id: package, depends_on: [compile], webhook: { url: "https://ci/package" } }
  - id: docs
    depends_on: []
    activities:
      - { id: announce, notice: { message: "Shipping {{ inputs.version }}", channel: "42" } }
  - id: ship
    depends_on: [build, docs]
    activities:
      - { id: hold, wait: { duration: 2h } }
      - { id: deploy, webhook: { url: "https://cd/deploy" }, on_failure: rollback }
      - { id: smoke, when: "inputs.version != '0.0.0'", webhook: { url: "https://qa/smoke" } }
rollback:
  activities:
    - { id: revert, webhook: { url: "https://cd/revert" } }
"#;

fn release(version: &str) -> Release {
    let process = parse("dag.yaml", DAG).unwrap_or_else(|e| panic!("{e:#?}"));
    let pairs = parse_pairs(&format!("version={version}")).unwrap_or_default();
    let inputs = validate(&process, pairs).unwrap_or_else(|e| panic!("{e}"));
    Release::new_draft(ReleaseId(3), crate::domain::GuildId(1), "r".into(), process, inputs, UserId(1), Utc::now())
}

fn actor() -> Actor {
    Actor { user: UserId(1), display_name: "ann".into(), roles: vec![] }
}

fn called(fx: &[Effect]) -> Vec<String> {
    let mut ids: Vec<String> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::CallWebhook(c) => Some(c.activity.clone()),
            _ => None,
        })
        .collect();
    ids.sort();
    ids
}

fn ok(r: &mut Release, activity: &str) -> Vec<Effect> {
    r.webhook_result(activity, 1, CallOutcome::success(), Utc::now()).unwrap_or_else(|e| panic!("{activity}: {e}"))
}

fn status(r: &Release, id: &str) -> StepStatus {
    r.activity(id).map(|a| a.status).unwrap_or(StepStatus::Aborted)
}

fn phase_status(r: &Release, id: &str) -> Option<StepStatus> {
    r.phases.iter().find(|p| p.id == id).map(|p| p.status)
}

/// Runs the `ship` phase to its end once `build` is done: the wait ends, deploy and smoke succeed.
fn ship(r: &mut Release) {
    r.timer_fired(&Timer::due("hold", 1, 0), Utc::now());
    ok(r, "deploy");
    ok(r, "smoke");
}

/// Runs the release up to the end of the `hold` wait.
fn to_deploy(r: &mut Release) -> Vec<Effect> {
    let _ = r.start(&actor(), Utc::now());
    ok(r, "compile");
    ok(r, "lint");
    ok(r, "package");
    r.timer_fired(&Timer::due("hold", 1, 0), Utc::now()).unwrap_or_default()
}

#[test]
fn independent_phases_and_activities_start_together() {
    let mut r = release("1.0.0");
    let fx = r.start(&actor(), Utc::now()).unwrap_or_default();
    assert_eq!(called(&fx), ["compile", "lint"], "package waits for compile; ship waits for build and docs");
    assert!(fx.contains(&Effect::Notify(Notice::Message { channel: Some(crate::domain::ChannelId(42)), text: "Shipping 1.0.0".into() })));
    assert_eq!(status(&r, "announce"), StepStatus::Success);
    assert_eq!(phase_status(&r, "docs"), Some(StepStatus::Success));
    assert_eq!(phase_status(&r, "ship"), Some(StepStatus::NotStarted));
    assert_eq!(called(&ok(&mut r, "compile")), ["package"]);
    assert_eq!(phase_status(&r, "ship"), Some(StepStatus::NotStarted), "lint is still running");
}

#[test]
fn a_wait_holds_its_phase_until_its_timer_fires() {
    let mut r = release("1.0.0");
    let _ = r.start(&actor(), Utc::now());
    ok(&mut r, "compile");
    ok(&mut r, "lint");
    let fx = ok(&mut r, "package");
    assert_eq!(status(&r, "hold"), StepStatus::Waiting);
    assert!(fx.contains(&Effect::Timer(Timer::due("hold", 1, 7_200))), "{fx:#?}");
    assert_eq!(r.timer_fired(&Timer::due("hold", 2, 0), Utc::now()), None, "a timer of another try changes nothing");
    let fx = r.timer_fired(&Timer::due("hold", 1, 0), Utc::now()).unwrap_or_default();
    assert_eq!(status(&r, "hold"), StepStatus::Success);
    assert_eq!(called(&fx), ["deploy"]);
}

#[test]
fn a_false_when_skips_the_activity_with_its_reason() {
    let mut r = release("0.0.0");
    to_deploy(&mut r);
    ok(&mut r, "deploy");
    assert_eq!(status(&r, "smoke"), StepStatus::Skipped);
    assert!(r.activity("smoke").and_then(|a| a.reason.clone()).is_some_and(|s| s.contains("inputs.version != '0.0.0'")));
    assert_eq!(r.status, ReleaseStatus::Success, "a skip by condition is by design, not a partial success");
}

#[test]
fn a_non_critical_failure_goes_on_and_ends_partial_success() {
    let mut r = release("1.0.0");
    let _ = r.start(&actor(), Utc::now());
    let _ = r.webhook_result("lint", 1, CallOutcome::failure("HTTP 500"), Utc::now());
    assert_eq!(status(&r, "lint"), StepStatus::Failed);
    assert_eq!(r.status, ReleaseStatus::Running);
    ok(&mut r, "compile");
    ok(&mut r, "package");
    ship(&mut r);
    assert_eq!(r.status, ReleaseStatus::PartialSuccess);
}

#[test]
fn a_critical_failure_fails_its_phase_and_aborts_what_runs_beside_it() {
    let mut r = release("1.0.0");
    let _ = r.start(&actor(), Utc::now());
    let _ = r.webhook_result("compile", 1, CallOutcome::failure("HTTP 500"), Utc::now());
    assert_eq!(r.status, ReleaseStatus::Failed);
    assert_eq!(status(&r, "lint"), StepStatus::Aborted);
    assert_eq!(phase_status(&r, "build"), Some(StepStatus::Failed));
    let late = r.webhook_result("lint", 1, CallOutcome::success(), Utc::now());
    assert!(matches!(late, Err(CommandError::Stale { .. })), "a result for an aborted activity is refused");
}

#[test]
fn a_failure_with_on_failure_rollback_runs_the_rollback_then_fails() {
    let mut r = release("1.0.0");
    to_deploy(&mut r);
    let fx = r.webhook_result("deploy", 1, CallOutcome::failure("HTTP 503"), Utc::now()).unwrap_or_default();
    assert_eq!(called(&fx), ["revert"]);
    assert!(fx.iter().any(|e| matches!(e, Effect::Notify(Notice::RollbackStarted { .. }))));
    assert_eq!(r.status, ReleaseStatus::Running, "still running while rolling back");
    assert_eq!(phase_status(&r, "ship"), Some(StepStatus::Failed));
    assert_eq!(status(&r, "smoke"), StepStatus::NotStarted, "nothing after the failure starts");
    ok(&mut r, "revert");
    assert_eq!(r.status, ReleaseStatus::Failed);
    assert!(r.reason.as_deref().is_some_and(|s| s.contains("`deploy` failed") && s.ends_with("rolled back")), "{:?}", r.reason);
    assert_eq!(phase_status(&r, ROLLBACK), Some(StepStatus::Success));
}

#[test]
fn a_release_that_succeeds_never_runs_its_rollback() {
    let mut r = release("1.0.0");
    to_deploy(&mut r);
    ok(&mut r, "deploy");
    ok(&mut r, "smoke");
    assert_eq!(r.status, ReleaseStatus::Success);
    assert_eq!(status(&r, "revert"), StepStatus::NotStarted);
}

#[test]
fn not_before_is_the_next_such_time_in_the_process_time_zone() {
    let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap_or(chrono_tz::UTC);
    let thu_14 = WeeklyTime { weekday: Some(3), hour: 14, minute: 0 };
    // Monday 23 November 2026, 10:00 UTC → Thursday 26 November, 14:00 in Berlin (13:00 UTC).
    let monday = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).single().unwrap_or_default();
    assert_eq!(next_weekly(thu_14, berlin, monday), Utc.with_ymd_and_hms(2026, 11, 26, 13, 0, 0).single().unwrap_or_default());
    // After Thursday's 14:00: the next week.
    let thursday_late = Utc.with_ymd_and_hms(2026, 11, 26, 13, 30, 0).single().unwrap_or_default();
    assert_eq!(next_weekly(thu_14, berlin, thursday_late), Utc.with_ymd_and_hms(2026, 12, 3, 13, 0, 0).single().unwrap_or_default());
    // 02:30 does not exist in Berlin on 29 March 2026 (clocks jump 02:00 → 03:00): 03:30 local.
    let daily_0230 = WeeklyTime { weekday: None, hour: 2, minute: 30 };
    let before_gap = Utc.with_ymd_and_hms(2026, 3, 28, 23, 0, 0).single().unwrap_or_default();
    assert_eq!(next_weekly(daily_0230, berlin, before_gap), Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).single().unwrap_or_default());
}

#[test]
fn a_process_pinned_before_depends_on_runs_in_file_order() {
    let mut p = parse("dag.yaml", DAG).unwrap_or_else(|e| panic!("{e:#?}"));
    p.model = 0;
    for phase in &mut p.phases {
        phase.depends_on.clear();
        for a in &mut phase.activities {
            a.depends_on.clear();
        }
    }
    let p = p.upgrade();
    assert_eq!(p.phases[2].depends_on, ["docs"]);
    assert_eq!(p.activity("package").map(|a| a.depends_on.clone()), Some(vec!["lint".to_string()]));
}

fn manager() -> Actor {
    Actor { user: UserId(9), display_name: "rm".into(), roles: vec![(5, "Release Managers".into())] }
}

fn with_manager(version: &str) -> Release {
    let mut r = release(version);
    r.process.release_manager = Some("role:Release Managers".parse().unwrap_or_else(|e| panic!("{e}")));
    r
}

#[test]
fn a_held_release_starts_nothing_new_until_resumed() {
    let mut r = with_manager("1.0.0");
    let _ = r.start(&actor(), Utc::now());
    let held = r.hold(&manager(), "waiting for the payments team");
    assert!(matches!(held.as_deref(), Ok([Effect::Audit { action: "release_held", .. }, ..])), "{held:?}");
    assert_eq!(r.status, ReleaseStatus::OnHold);
    let fx = ok(&mut r, "compile");
    assert!(called(&fx).is_empty(), "package must not start while held: {fx:#?}");
    assert_eq!(status(&r, "compile"), StepStatus::Success, "the result of a try already out is recorded");
    let fx = r.resume(&manager(), Utc::now()).unwrap_or_default();
    assert_eq!(called(&fx), ["package"]);
    assert_eq!(r.status, ReleaseStatus::Running);
}

#[test]
fn controlling_a_release_needs_a_reason_and_the_right_status() {
    // Who may control is `access::AccessPolicy::may_control`, checked by the engine first.
    let mut r = with_manager("1.0.0");
    let _ = r.start(&actor(), Utc::now());
    assert!(matches!(r.abort(&manager(), "  "), Err(CommandError::ReasonRequired)));
    assert!(r.hold(&actor(), "creator may").is_ok(), "the creator controls their release");
    assert!(matches!(r.hold(&actor(), "again"), Err(CommandError::WrongStatus { .. })));
}

#[test]
fn abort_ends_the_release_and_refuses_late_results() {
    let mut r = with_manager("1.0.0");
    let _ = r.start(&actor(), Utc::now());
    let fx = r.abort(&manager(), "wrong branch").unwrap_or_default();
    assert_eq!(r.status, ReleaseStatus::Aborted);
    assert_eq!(r.reason.as_deref(), Some("aborted by rm: wrong branch"));
    assert!(fx.iter().any(|e| matches!(e, Effect::Notify(Notice::ReleaseFinished { status: ReleaseStatus::Aborted, .. }))));
    assert_eq!(status(&r, "compile"), StepStatus::Aborted);
    assert!(matches!(r.webhook_result("compile", 1, CallOutcome::success(), Utc::now()), Err(CommandError::Stale { .. })));
    assert!(matches!(r.resume(&manager(), Utc::now()), Err(CommandError::WrongStatus { .. })));
}

#[test]
fn retry_runs_a_failed_activity_again_with_a_new_key_and_restarts_what_it_aborted() {
    let mut r = with_manager("1.0.0");
    let _ = r.start(&actor(), Utc::now());
    let _ = r.webhook_result("compile", 1, CallOutcome::failure("HTTP 500"), Utc::now());
    assert_eq!((r.status, status(&r, "lint")), (ReleaseStatus::Failed, StepStatus::Aborted));
    assert!(matches!(r.retry(&manager(), "lint", Utc::now()), Err(CommandError::NotFailed { .. })));
    let fx = r.retry(&manager(), "compile", Utc::now()).unwrap_or_default();
    assert_eq!(r.status, ReleaseStatus::Running);
    let tries: Vec<(String, u32)> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::CallWebhook(c) => Some((c.activity.clone(), c.attempt)),
            _ => None,
        })
        .collect();
    assert!(tries.contains(&("compile".into(), 2)) && tries.contains(&("lint".into(), 2)), "{tries:?}");
    assert!(fx.iter().any(|e| matches!(e, Effect::Audit { action: "activity_retried", .. })));
    assert!(matches!(r.webhook_result("compile", 1, CallOutcome::success(), Utc::now()), Err(CommandError::Stale { .. })));
    r.webhook_result("compile", 2, CallOutcome::success(), Utc::now()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status(&r, "compile"), StepStatus::Success);
}

#[test]
fn skip_lets_the_release_go_on_and_end_partial_success() {
    let mut r = with_manager("1.0.0");
    let _ = r.start(&actor(), Utc::now());
    let _ = r.webhook_result("compile", 1, CallOutcome::failure("HTTP 500"), Utc::now());
    assert!(matches!(r.skip(&manager(), "compile", "", Utc::now()), Err(CommandError::ReasonRequired)));
    let fx = r.skip(&manager(), "compile", "built by hand", Utc::now()).unwrap_or_default();
    assert_eq!(status(&r, "compile"), StepStatus::Skipped);
    assert!(called(&fx).contains(&"package".to_string()), "{fx:#?}");
    // lint was aborted by compile's failure and started again as try 2.
    r.webhook_result("lint", 2, CallOutcome::success(), Utc::now()).unwrap_or_else(|e| panic!("{e}"));
    ok(&mut r, "package");
    ship(&mut r);
    assert_eq!(r.status, ReleaseStatus::PartialSuccess);
}

#[test]
fn a_rolled_back_release_cannot_be_continued() {
    let mut r = with_manager("1.0.0");
    to_deploy(&mut r);
    let _ = r.webhook_result("deploy", 1, CallOutcome::failure("HTTP 503"), Utc::now());
    ok(&mut r, "revert");
    assert!(matches!(r.retry(&manager(), "deploy", Utc::now()), Err(CommandError::RolledBack(_))));
}

const GATED: &str = r#"name: gated
notices: { channel: "1" }
phases:
  - id: p
    activities:
      - { id: gate, check: { url: "https://m/{{ release.id }}", interval: 1m, condition: "response.error_rate < 0.01" }, timeout: 3m }
      - { id: ship, webhook: { url: "https://cd/ship" } }
"#;

fn gated() -> Release {
    let process = parse("gated.yaml", GATED).unwrap_or_else(|e| panic!("{e:#?}"));
    Release::new_draft(ReleaseId(4), crate::domain::GuildId(1), "g".into(), process, Default::default(), UserId(1), Utc::now())
}

fn first_poll(fx: &[Effect]) -> Poll {
    fx.iter().find_map(|e| if let Effect::Poll(p) = e { Some(p.clone()) } else { None }).unwrap_or_else(|| panic!("no poll in {fx:#?}"))
}

#[test]
fn a_check_looks_again_until_its_condition_holds() {
    let mut r = gated();
    let t0 = Utc::now();
    let look = first_poll(&r.start(&actor(), t0).unwrap_or_default());
    assert_eq!((look.url.as_str(), look.poll, look.delay_secs, look.deadline), ("https://m/4", 1, 0, t0.timestamp() + 180));
    let fx = r.poll_result(&look, Ok(Look::ok(serde_json::json!({"error_rate": 0.2}))), t0).unwrap_or_default();
    let again = first_poll(&fx);
    assert_eq!((again.poll, again.delay_secs), (2, 60));
    let fx = r.poll_result(&again, Err("HTTP 502".into()), t0 + chrono::Duration::seconds(60)).unwrap_or_default();
    let third = first_poll(&fx);
    let fx = r
        .poll_result(&third, Ok(Look::ok(serde_json::json!({"error_rate": 0.001}))), t0 + chrono::Duration::seconds(120))
        .unwrap_or_default();
    assert_eq!(status(&r, "gate"), StepStatus::Success);
    assert_eq!(called(&fx), ["ship"]);
    assert!(
        matches!(r.poll_result(&third, Ok(Look::ok(serde_json::json!({}))), t0), Err(CommandError::Stale { .. })),
        "a late look is fenced"
    );
}

#[test]
fn a_check_whose_condition_never_holds_fails_at_its_timeout_with_the_last_look() {
    let mut r = gated();
    let t0 = Utc::now();
    let mut look = first_poll(&r.start(&actor(), t0).unwrap_or_default());
    for minute in 0..4 {
        let fx = r
            .poll_result(&look, Ok(Look::ok(serde_json::json!({"error_rate": 0.5}))), t0 + chrono::Duration::minutes(minute))
            .unwrap_or_default();
        if r.status != ReleaseStatus::Running {
            break;
        }
        look = first_poll(&fx);
    }
    assert_eq!(r.status, ReleaseStatus::Failed);
    let reason = r.activity("gate").and_then(|a| a.reason.clone()).unwrap_or_default();
    assert!(reason.contains("the gate stayed closed for 3m (4 looks); last look: `response.error_rate < 0.01` was false"), "{reason}");
}
