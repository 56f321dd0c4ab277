use super::*;
use crate::domain::delegation::Authority;
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
    Release::new_draft(ReleaseId(7), crate::domain::GuildId(1), "Week 47".into(), process, inputs, UserId(1), Utc::now())
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
    let fx = r.start(&actor(1, &[]), Utc::now()).unwrap_or_default();
    assert_eq!(r.status, ReleaseStatus::Running);
    let c = calls(&fx);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].payload["idempotency_key"], "7/branch-cut/run-1", "the domain keys the run; the engine adds the installation");
    assert_eq!(c[0].payload["body"], json!({"version": "1.4.0", "services": "api,web"}));
    assert!(fx.contains(&Effect::Notify(Notice::PhaseStarted { phase: "build".into() })));
}

#[test]
fn a_whole_release_runs_to_success() {
    let mut r = draft();
    let _ = r.start(&actor(1, &[]), Utc::now());
    let fx = r.webhook_result("branch-cut", 1, CallOutcome::success(), Utc::now()).unwrap_or_default();
    assert!(fx.iter().any(|e| matches!(e, Effect::Notify(Notice::ApprovalRequested { .. }))));
    assert_eq!(status_of(&r, "qa-approval"), Some(StepStatus::OnHold));
    let approved = r.approve(&actor(2, &["QA"]), "qa-approval", &Authority::own(), Utc::now());
    assert!(matches!(approved, Ok((Progress { approvals: 1, min: 1, complete: true, .. }, _))));
    let c = calls(&approved.map(|(_, fx)| fx).unwrap_or_default());
    assert_eq!(c[0].payload["body"]["target"], "prod-eu");
    let _ = r.webhook_result("deploy", 1, CallOutcome::success(), Utc::now());
    assert_eq!(r.status, ReleaseStatus::Success);
}

#[test]
fn a_failed_try_is_retried_with_backoff_then_fails_the_release() {
    let mut r = draft();
    let _ = r.start(&actor(1, &[]), Utc::now());
    // backoff 10s: the first retry waits 5–10 s, the second 10–20 s (jitter in the upper half).
    let fx = r.webhook_result("branch-cut", 1, CallOutcome::failure("HTTP 500"), Utc::now()).unwrap_or_default();
    let first = calls(&fx);
    assert!(matches!(first.as_slice(), [c] if c.attempt == 2 && (5_000..=10_000).contains(&c.delay_ms)), "{first:?}");
    let fx = r.webhook_result("branch-cut", 2, CallOutcome::failure("HTTP 500"), Utc::now()).unwrap_or_default();
    let second = calls(&fx);
    assert!(matches!(second.as_slice(), [c] if c.attempt == 3 && (10_000..=20_000).contains(&c.delay_ms)), "{second:?}");
    let _ = r.webhook_result("branch-cut", 3, CallOutcome::failure("timed out"), Utc::now());
    assert_eq!(r.status, ReleaseStatus::Failed);
    assert!(r.reason.as_deref().is_some_and(|s| s.contains("timed out")));
}

#[test]
fn a_result_for_an_old_try_changes_nothing() {
    let mut r = draft();
    let _ = r.start(&actor(1, &[]), Utc::now());
    let _ = r.webhook_result("branch-cut", 1, CallOutcome::failure("HTTP 500"), Utc::now());
    let before = r.clone();
    let late = r.webhook_result("branch-cut", 1, CallOutcome::success(), Utc::now());
    assert!(matches!(late, Err(CommandError::Stale { got: 1, current: 2, .. })));
    assert_eq!(r, before);
}

#[test]
fn approvals_refuse_the_creator_outsiders_and_second_clicks() {
    let mut r = draft();
    let _ = r.start(&actor(9, &["QA"]), Utc::now());
    let _ = r.webhook_result("branch-cut", 1, CallOutcome::success(), Utc::now());
    assert!(matches!(
        r.approve(&actor(1, &["QA"]), "qa-approval", &Authority::own(), Utc::now()),
        Err(CommandError::Refused(Refusal::OwnRelease))
    ));
    assert!(matches!(
        r.approve(&actor(9, &["QA"]), "qa-approval", &Authority::own(), Utc::now()),
        Err(CommandError::Refused(Refusal::OwnRelease))
    ));
    assert!(matches!(
        r.approve(&actor(3, &["Developers"]), "qa-approval", &Authority::own(), Utc::now()),
        Err(CommandError::Refused(Refusal::NotAnApprover { .. }))
    ));
    assert_eq!(status_of(&r, "qa-approval"), Some(StepStatus::OnHold));
}

#[test]
fn a_second_approval_by_the_same_person_counts_once() {
    let mut r = draft();
    if let Some(ActivityKind::Approval(spec)) = r.process.phases[1].activities.first_mut().map(|a| &mut a.kind) {
        spec.min = 2;
    }
    let _ = r.start(&actor(1, &[]), Utc::now());
    let _ = r.webhook_result("branch-cut", 1, CallOutcome::success(), Utc::now());
    assert!(r.approve(&actor(2, &["QA"]), "qa-approval", &Authority::own(), Utc::now()).is_ok());
    let again = r.approve(&actor(2, &["QA"]), "qa-approval", &Authority::own(), Utc::now());
    assert!(matches!(again, Err(CommandError::Refused(Refusal::AlreadyCounted { approvals: 1, min: 2, .. }))));
    assert_eq!(status_of(&r, "qa-approval"), Some(StepStatus::OnHold));
}

#[test]
fn a_rejection_fails_the_release() {
    let mut r = draft();
    let _ = r.start(&actor(1, &[]), Utc::now());
    let _ = r.webhook_result("branch-cut", 1, CallOutcome::success(), Utc::now());
    let unexplained = r.reject(&actor(2, &["QA"]), "qa-approval", "  ", &Authority::own(), Utc::now());
    assert!(matches!(unexplained, Err(CommandError::ReasonRequired)), "{unexplained:?}");
    assert_eq!(status_of(&r, "qa-approval"), Some(StepStatus::OnHold), "a rejection without a reason changes nothing");
    assert!(r.reject(&actor(2, &["QA"]), "qa-approval", "The checkout test fails", &Authority::own(), Utc::now()).is_ok());
    assert_eq!(r.status, ReleaseStatus::Failed);
    assert_eq!(r.reason.as_deref(), Some("activity `qa-approval` failed: rejected by user2: The checkout test fails"));
    assert_eq!(r.phases[1].status, StepStatus::Failed);
}

#[test]
fn an_ignored_failure_ends_in_partial_success() {
    let mut r = draft();
    r.process.phases[2].activities[0].on_failure = OnFailure::Ignore;
    let _ = r.start(&actor(1, &[]), Utc::now());
    let _ = r.webhook_result("branch-cut", 1, CallOutcome::success(), Utc::now());
    let _ = r.approve(&actor(2, &["QA"]), "qa-approval", &Authority::own(), Utc::now());
    let _ = r.webhook_result("deploy", 1, CallOutcome::failure("HTTP 503"), Utc::now());
    assert_eq!(r.status, ReleaseStatus::PartialSuccess);
}

#[test]
fn only_a_draft_can_start() {
    let mut r = draft();
    let _ = r.start(&actor(1, &[]), Utc::now());
    assert!(matches!(r.start(&actor(1, &[]), Utc::now()), Err(CommandError::NotDraft { .. })));
}

#[test]
fn a_longer_retry_after_wins_over_the_backoff() {
    let mut r = draft();
    let _ = r.start(&actor(1, &[]), Utc::now());
    let asked = CallOutcome::Failure { reason: "HTTP 429".into(), retry_after_secs: Some(120) };
    let fx = r.webhook_result("branch-cut", 1, asked, Utc::now()).unwrap_or_default();
    assert_eq!(calls(&fx).iter().map(|c| c.delay_ms).collect::<Vec<_>>(), vec![120_000]);
}

#[test]
fn outputs_of_an_activity_are_readable_by_later_templates() {
    let mut r = draft();
    if let ActivityKind::Webhook(hook) = &mut r.process.phases[2].activities[0].kind {
        hook.body = json!({"artifact": "{{ activities['branch-cut'].outputs.artifact }}"});
    }
    let _ = r.start(&actor(1, &[]), Utc::now());
    let outputs = json!({"artifact": "https://ci/a.tgz"}).as_object().cloned().unwrap_or_default();
    let _ = r.webhook_result("branch-cut", 1, CallOutcome::Success { outputs, answer: None }, Utc::now());
    let (_, fx) = r.approve(&actor(2, &["QA"]), "qa-approval", &Authority::own(), Utc::now()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(calls(&fx)[0].payload["body"]["artifact"], "https://ci/a.tgz");
}

#[test]
fn an_accepted_callback_webhook_keeps_running() {
    let mut r = draft();
    let _ = r.start(&actor(1, &[]), Utc::now());
    let fx = r.webhook_result("branch-cut", 1, CallOutcome::Accepted, Utc::now()).unwrap_or_default();
    assert_eq!(status_of(&r, "branch-cut"), Some(StepStatus::Running));
    assert!(fx.iter().any(|e| matches!(e, Effect::Audit { action: "webhook_accepted", .. })));
    let deadline = Timer::due("branch-cut", 1, 1_800);
    assert!(fx.contains(&Effect::Timer(deadline)));
}

#[test]
fn a_callback_that_overtakes_the_receivers_202_completes_the_try_and_the_late_202_changes_nothing() {
    let mut r = draft();
    let _ = r.start(&actor(1, &[]), Utc::now());
    let _ = r.webhook_result("branch-cut", 1, CallOutcome::success(), Utc::now());
    let late = r.webhook_result("branch-cut", 1, CallOutcome::Accepted, Utc::now());
    assert!(matches!(late, Err(CommandError::Stale { .. })), "{late:?}");
    assert_eq!(status_of(&r, "branch-cut"), Some(StepStatus::Success));
}

#[test]
fn a_missed_callback_deadline_fails_the_try_and_a_met_one_changes_nothing() {
    let mut r = draft();
    let _ = r.start(&actor(1, &[]), Utc::now());
    let _ = r.webhook_result("branch-cut", 1, CallOutcome::Accepted, Utc::now());
    let fx = r.timer_fired(&Timer::due("branch-cut", 1, 0), Utc::now()).unwrap_or_default();
    assert_eq!(calls(&fx).iter().map(|c| c.attempt).collect::<Vec<_>>(), vec![2], "retried");
    let _ = r.webhook_result("branch-cut", 2, CallOutcome::success(), Utc::now());
    assert_eq!(r.timer_fired(&Timer::due("branch-cut", 2, 0), Utc::now()), None);
    assert_eq!(status_of(&r, "branch-cut"), Some(StepStatus::Success));
}

#[test]
fn backoff_doubles_is_capped_and_jitters_by_try() {
    use crate::domain::process::Retry;
    use crate::domain::HumanDuration;
    let retry = Retry { attempts: 10, backoff: HumanDuration::from_secs(10), max_backoff: HumanDuration::from_secs(60) };
    let waits: Vec<u64> = (1..=6).map(|n| backoff(&retry, n, "7/deploy/1").as_secs()).collect();
    for (n, wait) in waits.iter().enumerate() {
        let full = (10u64 << n).min(60);
        assert!((full / 2..=full).contains(wait), "try {}: {wait} s outside {}..={full}", n + 1, full / 2);
    }
    assert_eq!(backoff(&retry, 3, "7/deploy/3"), backoff(&retry, 3, "7/deploy/3"), "the same try waits the same");
    let spread: std::collections::BTreeSet<u128> = (0..50).map(|i| backoff(&retry, 3, &format!("{i}/deploy/3")).as_millis()).collect();
    assert!(spread.len() > 40, "releases failing together retry at different times: {} distinct waits", spread.len());
}

#[test]
fn a_one_second_backoff_waits_between_half_a_second_and_a_second_before_try_2() {
    use crate::domain::HumanDuration;
    let mut r = draft();
    r.process.phases[0].activities[0].retry.backoff = HumanDuration::from_secs(1);
    let t0 = Utc::now();
    let _ = r.start(&actor(1, &[]), t0);
    let fx = r.webhook_result("branch-cut", 1, CallOutcome::failure("HTTP 500"), t0).unwrap_or_default();
    let waits: Vec<u64> = calls(&fx).iter().map(|c| c.delay_ms).collect();
    assert!(matches!(waits.as_slice(), [ms] if (500..=1_000).contains(ms)), "try 2 waits {waits:?} ms; the backoff is 1s");
}

#[test]
fn automatic_retries_keep_the_runs_key_and_a_persons_retry_gets_a_new_one() {
    let mut r = draft();
    let t0 = Utc::now();
    let first = calls(&r.start(&actor(1, &[]), t0).unwrap_or_default());
    let mut keys: Vec<(u32, String)> = first.iter().map(|c| (c.attempt, c.key.clone())).collect();
    for attempt in 1..=3 {
        let fx = r.webhook_result("branch-cut", attempt, CallOutcome::failure("HTTP 500"), t0).unwrap_or_default();
        keys.extend(calls(&fx).iter().map(|c| (c.attempt, c.key.clone())));
    }
    assert_eq!(status_of(&r, "branch-cut"), Some(StepStatus::Failed));
    let manager = actor(1, &[]);
    let fx = r.retry(&manager, "branch-cut", t0).unwrap_or_else(|e| panic!("{e}"));
    keys.extend(calls(&fx).iter().map(|c| (c.attempt, c.key.clone())));
    let run = |n: u32| format!("7/branch-cut/run-{n}");
    assert_eq!(keys, [(1, run(1)), (2, run(1)), (3, run(1)), (4, run(4))]);
}

#[test]
fn a_phase_ending_as_the_next_starts_is_one_notice_and_anything_between_keeps_them_apart() {
    let finished = |p: &str| Effect::Notify(Notice::PhaseFinished { phase: p.into(), status: StepStatus::Success });
    let started = |p: &str| Effect::Notify(Notice::PhaseStarted { phase: p.into() });
    let audit = Effect::Audit { actor: AuditActor::System, action: "phase_started", detail: serde_json::json!({}) };
    let merged = merge_phase_notices(vec![finished("build"), audit.clone(), started("qa"), started("docs")]);
    assert_eq!(
        merged,
        vec![
            Effect::Notify(Notice::PhaseAdvanced {
                finished: "build".into(),
                status: StepStatus::Success,
                started: vec!["qa".into(), "docs".into()]
            }),
            audit
        ]
    );
    let held = Effect::Notify(Notice::ReleaseHeld { by: "olga".into(), reason: "why".into() });
    let apart = vec![finished("build"), held, started("qa")];
    assert_eq!(merge_phase_notices(apart.clone()), apart, "a notice between them is read between them");
}
