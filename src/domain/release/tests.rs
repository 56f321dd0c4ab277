use super::*;
use crate::domain::inputs::{parse_pairs, validate};
use crate::domain::process_file::parse;

const SOURCE: &str = include_str!("../../../processes/weekly-production.yaml");

fn actor(id: u64, roles: &[&str]) -> Actor {
    Actor {
        user: UserId(id),
        display_name: format!("user{id}"),
        roles: roles.iter().enumerate().map(|(i, r)| (i as u64 + 1, r.to_string())).collect(),
    }
}

fn draft() -> Release {
    let process = parse("p.yaml", SOURCE).unwrap_or_else(|e| panic!("{e:?}"));
    let inputs = validate(&process, parse_pairs("version=1.4.0 services=api,web").unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    Release::new_draft(ReleaseId(7), 1, "Week 47".into(), process, inputs, UserId(1), Utc::now())
}

fn calls(fx: &[Effect]) -> Vec<WebhookCall> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::CallWebhook(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

fn status_of(r: &Release, id: &str) -> Option<StepStatus> {
    r.activity(id).map(|a| a.status)
}

#[test]
fn starting_a_release_calls_the_first_webhook_with_its_rendered_body() {
    let mut r = draft();
    let fx = r.start(&actor(1, &[])).unwrap_or_default();
    assert_eq!(r.status, ReleaseStatus::Running);
    let c = calls(&fx);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].payload["idempotency_key"], "7/branch-cut/1");
    assert_eq!(c[0].payload["body"], json!({"version": "1.4.0", "services": "api,web"}));
    assert!(fx.contains(&Effect::Notify(Notice::PhaseStarted { phase: "build".into() })));
}

#[test]
fn a_whole_release_runs_to_success() {
    let mut r = draft();
    let _ = r.start(&actor(1, &[]));
    let fx = r.webhook_result("branch-cut", 1, CallOutcome::success()).unwrap_or_default();
    assert!(fx.iter().any(|e| matches!(e, Effect::Notify(Notice::ApprovalRequested { .. }))));
    assert_eq!(status_of(&r, "qa-approval"), Some(StepStatus::OnHold));
    let approved = r.approve(&actor(2, &["QA"]), "qa-approval");
    assert!(matches!(approved, Ok((Progress { approvals: 1, min: 1 }, _))));
    let c = calls(&approved.map(|(_, fx)| fx).unwrap_or_default());
    assert_eq!(c[0].payload["body"]["target"], "prod-eu");
    let _ = r.webhook_result("deploy", 1, CallOutcome::success());
    assert_eq!(r.status, ReleaseStatus::Success);
}

#[test]
fn a_failed_try_is_retried_with_backoff_then_fails_the_release() {
    let mut r = draft();
    let _ = r.start(&actor(1, &[]));
    let fx = r.webhook_result("branch-cut", 1, CallOutcome::failure("HTTP 500")).unwrap_or_default();
    assert_eq!(calls(&fx).iter().map(|c| (c.attempt, c.delay_secs)).collect::<Vec<_>>(), vec![(2, 10)]);
    let fx = r.webhook_result("branch-cut", 2, CallOutcome::failure("HTTP 500")).unwrap_or_default();
    assert_eq!(calls(&fx).iter().map(|c| (c.attempt, c.delay_secs)).collect::<Vec<_>>(), vec![(3, 20)]);
    let _ = r.webhook_result("branch-cut", 3, CallOutcome::failure("timed out"));
    assert_eq!(r.status, ReleaseStatus::Failed);
    assert!(r.reason.as_deref().is_some_and(|s| s.contains("timed out")));
}

#[test]
fn a_result_for_an_old_try_changes_nothing() {
    let mut r = draft();
    let _ = r.start(&actor(1, &[]));
    let _ = r.webhook_result("branch-cut", 1, CallOutcome::failure("HTTP 500"));
    let before = r.clone();
    let late = r.webhook_result("branch-cut", 1, CallOutcome::success());
    assert!(matches!(late, Err(CommandError::Stale { got: 1, current: 2, .. })));
    assert_eq!(r, before);
}

#[test]
fn approvals_refuse_the_creator_outsiders_and_second_clicks() {
    let mut r = draft();
    let _ = r.start(&actor(9, &["QA"]));
    let _ = r.webhook_result("branch-cut", 1, CallOutcome::success());
    assert!(matches!(r.approve(&actor(1, &["QA"]), "qa-approval"), Err(CommandError::Refused(Refusal::OwnRelease))));
    assert!(matches!(r.approve(&actor(9, &["QA"]), "qa-approval"), Err(CommandError::Refused(Refusal::OwnRelease))));
    assert!(matches!(r.approve(&actor(3, &["Developers"]), "qa-approval"), Err(CommandError::Refused(Refusal::NotAnApprover { .. }))));
    assert_eq!(status_of(&r, "qa-approval"), Some(StepStatus::OnHold));
}

#[test]
fn a_second_approval_by_the_same_person_counts_once() {
    let mut r = draft();
    if let Some(ActivityKind::Approval(spec)) = r.process.phases[1].activities.first_mut().map(|a| &mut a.kind) {
        spec.min = 2;
    }
    let _ = r.start(&actor(1, &[]));
    let _ = r.webhook_result("branch-cut", 1, CallOutcome::success());
    assert!(r.approve(&actor(2, &["QA"]), "qa-approval").is_ok());
    let again = r.approve(&actor(2, &["QA"]), "qa-approval");
    assert!(matches!(again, Err(CommandError::Refused(Refusal::AlreadyCounted { approvals: 1, min: 2 }))));
    assert_eq!(status_of(&r, "qa-approval"), Some(StepStatus::OnHold));
}

#[test]
fn a_rejection_fails_the_release() {
    let mut r = draft();
    let _ = r.start(&actor(1, &[]));
    let _ = r.webhook_result("branch-cut", 1, CallOutcome::success());
    assert!(r.reject(&actor(2, &["QA"]), "qa-approval").is_ok());
    assert_eq!(r.status, ReleaseStatus::Failed);
    assert_eq!(r.phases[1].status, StepStatus::Failed);
}

#[test]
fn an_ignored_failure_ends_in_partial_success() {
    let mut r = draft();
    r.process.phases[2].activities[0].on_failure = OnFailure::Ignore;
    let _ = r.start(&actor(1, &[]));
    let _ = r.webhook_result("branch-cut", 1, CallOutcome::success());
    let _ = r.approve(&actor(2, &["QA"]), "qa-approval");
    let _ = r.webhook_result("deploy", 1, CallOutcome::failure("HTTP 503"));
    assert_eq!(r.status, ReleaseStatus::PartialSuccess);
}

#[test]
fn only_a_draft_can_start() {
    let mut r = draft();
    let _ = r.start(&actor(1, &[]));
    assert!(matches!(r.start(&actor(1, &[])), Err(CommandError::NotDraft { .. })));
}

#[test]
fn a_longer_retry_after_wins_over_the_backoff() {
    let mut r = draft();
    let _ = r.start(&actor(1, &[]));
    let asked = CallOutcome::Failure { reason: "HTTP 429".into(), retry_after_secs: Some(120) };
    let fx = r.webhook_result("branch-cut", 1, asked).unwrap_or_default();
    assert_eq!(calls(&fx).iter().map(|c| c.delay_secs).collect::<Vec<_>>(), vec![120]);
}

#[test]
fn outputs_of_an_activity_are_readable_by_later_templates() {
    let mut r = draft();
    if let ActivityKind::Webhook(hook) = &mut r.process.phases[2].activities[0].kind {
        hook.body = json!({"artifact": "{{ activities['branch-cut'].outputs.artifact }}"});
    }
    let _ = r.start(&actor(1, &[]));
    let outputs = json!({"artifact": "https://ci/a.tgz"}).as_object().cloned().unwrap_or_default();
    let _ = r.webhook_result("branch-cut", 1, CallOutcome::Success { outputs });
    let (_, fx) = r.approve(&actor(2, &["QA"]), "qa-approval").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(calls(&fx)[0].payload["body"]["artifact"], "https://ci/a.tgz");
}

#[test]
fn an_accepted_callback_webhook_keeps_running() {
    let mut r = draft();
    let _ = r.start(&actor(1, &[]));
    let fx = r.webhook_result("branch-cut", 1, CallOutcome::Accepted).unwrap_or_default();
    assert_eq!(status_of(&r, "branch-cut"), Some(StepStatus::Running));
    assert!(fx.iter().any(|e| matches!(e, Effect::Audit { action: "webhook_accepted", .. })));
    let deadline = CallbackDeadline { activity: "branch-cut".into(), attempt: 1, after_secs: 1_800 };
    assert!(fx.contains(&Effect::CallbackDeadline(deadline)));
}

#[test]
fn a_missed_callback_deadline_fails_the_try_and_a_met_one_changes_nothing() {
    let mut r = draft();
    let _ = r.start(&actor(1, &[]));
    let _ = r.webhook_result("branch-cut", 1, CallOutcome::Accepted);
    let fx = r.callback_deadline_passed("branch-cut", 1).unwrap_or_default();
    assert_eq!(calls(&fx).iter().map(|c| c.attempt).collect::<Vec<_>>(), vec![2], "retried");
    let _ = r.webhook_result("branch-cut", 2, CallOutcome::success());
    assert_eq!(r.callback_deadline_passed("branch-cut", 2), None);
    assert_eq!(status_of(&r, "branch-cut"), Some(StepStatus::Success));
}
