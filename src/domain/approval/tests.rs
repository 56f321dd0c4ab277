//! The approval rules on whole releases: a one-activity process per test, decided by people
//! with roles, by delegates, by the clock.

use super::*;
use crate::domain::delegation::{Authority, Delegation};
use crate::domain::inputs::{parse_pairs, validate};
use crate::domain::process_file::parse;
use crate::domain::release::{CommandError, Effect, Notice, Release, ReleaseId, ReleaseStatus, StepStatus, Timer, TimerPurpose};
use chrono::{Duration, TimeZone};

const CREATOR: u64 = 1;

fn now() -> DateTime<Utc> {
    // A Monday, 10:00 UTC.
    Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).single().unwrap_or_default()
}

fn person(id: u64, roles: &[&str]) -> Actor {
    Actor {
        user: UserId(id),
        display_name: format!("user{id}"),
        roles: roles.iter().map(|r| (100 + r.len() as u64, r.to_string())).collect(),
    }
}

/// A started release of a process whose only activity is `approval:` with `spec` (YAML lines
/// indented under `approval:`), plus optional top-level `extra` (risk rules).
fn release_with(spec: &str, extra: &str, inputs: &str) -> (Release, Vec<Effect>) {
    let indented: String = spec.lines().map(|l| format!("          {l}\n")).collect();
    let source = format!(
        "name: gated\ninputs:\n  environment: {{type: string, default: staging}}\n{extra}notices: {{channel: \"42\"}}\nphases:\n  - id: gate\n    activities:\n      - id: ok\n        approval:\n{indented}"
    );
    let process = parse("gated.yaml", &source).unwrap_or_else(|e| panic!("{e:?}\n{source}"));
    let inputs = validate(&process, parse_pairs(inputs).unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    let mut r = Release::new_draft(ReleaseId(5), crate::domain::GuildId(1), "R".into(), process, inputs, UserId(CREATOR), now());
    let fx = r.start(&person(CREATOR, &[]), now()).unwrap_or_else(|e| panic!("{e}"));
    (r, fx)
}

fn approve(r: &mut Release, who: &Actor) -> Result<Vec<Effect>, CommandError> {
    r.approve(who, "ok", &Authority::own(), now()).map(|(_, fx)| fx)
}

fn refusal(result: Result<Vec<Effect>, CommandError>) -> Refusal {
    match result {
        Err(CommandError::Refused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn status(r: &Release) -> StepStatus {
    r.activity("ok").map(|a| a.status).unwrap_or(StepStatus::NotStarted)
}

fn requests(fx: &[Effect]) -> Vec<(String, Vec<String>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Notify(Notice::ApprovalRequested { level, approvers, .. }) => Some((level.clone(), approvers.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn two_of_three_needs_two_distinct_people_and_a_person_with_two_roles_counts_once() {
    let (mut r, _) = release_with("approvers: [\"role:QA\", \"role:Ops\"]\nmin: 2", "", "");
    let both = person(2, &["QA", "Ops"]);
    assert!(approve(&mut r, &both).is_ok());
    assert!(matches!(refusal(approve(&mut r, &both)), Refusal::AlreadyCounted { approvals: 1, min: 2, .. }));
    assert_eq!(status(&r), StepStatus::OnHold);
    assert!(approve(&mut r, &person(3, &["Ops"])).is_ok());
    assert_eq!(status(&r), StepStatus::Success);
}

#[test]
fn each_group_must_be_filled_by_its_own_people_and_one_person_fills_one_group() {
    let spec = "require:\n  - {from: \"role:QA\", min: 1}\n  - {from: \"role:Security\", min: 1}";
    let (mut r, _) = release_with(spec, "", "");
    // One person holding both roles fills one group, not both.
    assert!(approve(&mut r, &person(2, &["QA", "Security"])).is_ok());
    assert_eq!(status(&r), StepStatus::OnHold, "one person cannot fill two groups");
    // A second QA completes it: the first person moves to Security (a matching, not first come).
    assert!(approve(&mut r, &person(3, &["QA"])).is_ok());
    assert_eq!(status(&r), StepStatus::Success);
}

#[test]
fn a_group_short_of_people_keeps_the_approval_open_whatever_the_total() {
    let spec = "approvers: [\"role:Dev\"]\nmin: 2\nrequire:\n  - {from: \"role:Security\", min: 1}";
    let (mut r, _) = release_with(spec, "", "");
    assert!(approve(&mut r, &person(2, &["Dev"])).is_ok());
    assert!(approve(&mut r, &person(3, &["Dev"])).is_ok());
    assert_eq!(status(&r), StepStatus::OnHold, "two approvals but no one from Security");
    assert!(approve(&mut r, &person(4, &["Security"])).is_ok());
    assert_eq!(status(&r), StepStatus::Success);
}

#[test]
fn levels_open_in_order_and_each_has_its_own_approvers() {
    let spec = "levels:\n  - {name: business, approvers: [\"role:Product\"]}\n  - {name: security, approvers: [\"role:Security\"], min: 2}";
    let (mut r, fx) = release_with(spec, "", "");
    assert_eq!(requests(&fx), vec![("business".to_string(), vec!["role:Product".to_string()])]);
    let early = refusal(approve(&mut r, &person(3, &["Security"])));
    assert_eq!(early.to_string(), "you are not an approver at level `business`; it needs one of: role:Product");
    let fx = approve(&mut r, &person(2, &["Product"])).unwrap_or_default();
    assert_eq!(requests(&fx), vec![("security".to_string(), vec!["role:Security".to_string()])], "the next level is asked");
    // One person, one vote per approval: a Product approver who is also in Security is counted.
    assert!(matches!(refusal(approve(&mut r, &person(2, &["Product", "Security"]))), Refusal::AlreadyCounted { .. }));
    assert!(approve(&mut r, &person(3, &["Security"])).is_ok());
    assert_eq!(status(&r), StepStatus::OnHold);
    assert!(approve(&mut r, &person(4, &["Security"])).is_ok());
    assert_eq!(status(&r), StepStatus::Success);
    let levels: Vec<u32> = r.activity("ok").map(|a| a.decisions.iter().map(|d| d.level).collect()).unwrap_or_default();
    assert_eq!(levels, vec![0, 1, 1]);
}

#[test]
fn the_creator_cannot_approve_and_neither_can_their_delegate_acting_for_them() {
    let (mut r, _) = release_with("approvers: [\"role:QA\"]", "", "");
    assert_eq!(refusal(approve(&mut r, &person(CREATOR, &["QA"]))), Refusal::OwnRelease);
    let creator = person(CREATOR, &["QA"]);
    let to_bob = Delegation::new(&creator, UserId(9), "user9", now() + Duration::hours(4), None, now()).unwrap_or_else(|e| panic!("{e}"));
    let refused = r.approve(&person(9, &[]), "ok", &Authority::with(vec![to_bob]), now());
    assert!(matches!(refused, Err(CommandError::Refused(Refusal::DelegatorsOwnRelease { .. }))), "{refused:?}");
}

#[test]
fn a_delegate_approves_for_the_delegator_and_both_names_are_recorded() {
    let (mut r, _) = release_with("approvers: [\"role:QA\"]\nmin: 2", "", "");
    let alice = person(2, &["QA"]);
    let to_bob = Delegation::new(&alice, UserId(9), "user9", now() + Duration::hours(4), None, now()).unwrap_or_else(|e| panic!("{e}"));
    let bob = person(9, &[]);
    let fx = r.approve(&bob, "ok", &Authority::with(vec![to_bob.clone()]), now()).map(|(_, fx)| fx).unwrap_or_default();
    let decision = r.activity("ok").and_then(|a| a.decisions.first().cloned());
    assert_eq!(decision.as_ref().map(|d| d.shown_name()), Some("user9 for user2".to_string()));
    assert_eq!(decision.map(|d| d.principals), Some(vec!["role:QA".to_string()]));
    let audit = fx.iter().find_map(|e| match e {
        Effect::Audit { action: "approval_given", detail, .. } => Some(detail.clone()),
        _ => None,
    });
    assert_eq!(audit.map(|d| d["on_behalf_of"]["name"].clone()), Some(serde_json::json!("user2")));
    // Alice herself no longer counts separately: her authority was used.
    assert!(matches!(refusal(approve(&mut r, &alice)), Refusal::AlreadyCounted { .. }));
    // Nor can bob use the delegation twice.
    assert!(matches!(
        r.approve(&bob, "ok", &Authority::with(vec![to_bob]), now()),
        Err(CommandError::Refused(Refusal::AlreadyCounted { .. }))
    ));
}

#[test]
fn an_ended_or_other_process_delegation_gives_no_authority() {
    let (mut r, _) = release_with("approvers: [\"role:QA\"]", "", "");
    let alice = person(2, &["QA"]);
    let ended = Delegation::new(&alice, UserId(9), "user9", now() - Duration::hours(1), None, now() - Duration::hours(3));
    let ended = ended.unwrap_or_else(|e| panic!("{e}"));
    let elsewhere = Delegation::new(&alice, UserId(9), "user9", now() + Duration::hours(1), Some("hotfix".into()), now());
    let elsewhere = elsewhere.unwrap_or_else(|e| panic!("{e}"));
    let refused = r.approve(&person(9, &[]), "ok", &Authority::with(vec![ended, elsewhere]), now());
    assert!(matches!(refused, Err(CommandError::Refused(Refusal::NotAnApprover { .. }))), "{refused:?}");
}

#[test]
fn a_time_locked_approval_refuses_clicks_until_it_opens() {
    let (mut r, fx) = release_with("approvers: [\"role:QA\"]\nwait: 2h", "", "");
    let opens = now() + Duration::hours(2);
    assert!(fx.iter().any(|e| matches!(e, Effect::Notify(Notice::ApprovalRequested { opens_at: Some(at), .. }) if *at == opens)));
    let early = r.approve(&person(2, &["QA"]), "ok", &Authority::own(), now() + Duration::minutes(119));
    assert!(matches!(early, Err(CommandError::Refused(Refusal::Locked { opens_at })) if opens_at == opens));
    assert!(r.approve(&person(2, &["QA"]), "ok", &Authority::own(), opens).is_ok());
    assert_eq!(status(&r), StepStatus::Success);
}

#[test]
fn auto_approval_holds_on_low_risk_and_says_which_condition() {
    let risk = "risk:\n  - {when: \"inputs.environment == 'production'\", level: high, because: production}\n";
    let spec = "approvers: [\"role:QA\"]\nauto_approve_if: \"release.risk == 'low'\"";
    let (r, fx) = release_with(spec, risk, "environment=staging");
    assert_eq!(status(&r), StepStatus::Success);
    assert_eq!(r.status, ReleaseStatus::Success);
    let audit = fx.iter().find_map(|e| match e {
        Effect::Audit { action: "approval_auto", detail, .. } => Some(detail.clone()),
        _ => None,
    });
    assert_eq!(audit, Some(serde_json::json!({"activity": "ok", "condition": "release.risk == 'low'", "risk": "low"})));
    let (r, _) = release_with(spec, risk, "environment=production");
    assert_eq!(r.risk.level, crate::domain::risk::RiskLevel::High);
    assert_eq!(status(&r), StepStatus::OnHold, "high risk needs people");
}

#[test]
fn reminders_ping_the_open_level_and_stop_after_the_last() {
    let (mut r, fx) = release_with("approvers: [\"role:QA\"]\nremind_after: 4h", "", "");
    assert!(fx.contains(&Effect::Timer(Timer { purpose: TimerPurpose::Remind(1), ..Timer::due("ok", 1, 4 * 3600) })));
    let fx = r.timer_fired(&Timer { purpose: TimerPurpose::Remind(1), ..Timer::due("ok", 1, 0) }, now()).unwrap_or_default();
    assert!(fx.iter().any(|e| matches!(e, Effect::Notify(Notice::ApprovalReminder { approvers, .. }) if approvers == &["role:QA"])));
    assert!(fx.iter().any(|e| matches!(e, Effect::Timer(Timer { purpose: TimerPurpose::Remind(2), .. }))));
    let last = r.timer_fired(&Timer { purpose: TimerPurpose::Remind(MAX), ..Timer::due("ok", 1, 0) }, now()).unwrap_or_default();
    assert!(!last.iter().any(|e| matches!(e, Effect::Timer(_))), "no reminder after the last: {last:?}");
    assert!(approve(&mut r, &person(2, &["QA"])).is_ok());
    assert_eq!(r.timer_fired(&Timer { purpose: TimerPurpose::Remind(2), ..Timer::due("ok", 1, 0) }, now()), None, "decided: no reminder");
}

const MAX: u32 = crate::domain::release::MAX_REMINDERS;

#[test]
fn an_expired_approval_fails_and_a_click_after_says_it_expired() {
    let (mut r, _) = release_with("approvers: [\"role:QA\"]\nexpires_after: 24h", "", "");
    let fx = r.timer_fired(&Timer { purpose: TimerPurpose::Expire(1), ..Timer::due("ok", 1, 0) }, now()).unwrap_or_default();
    assert!(fx.iter().any(|e| matches!(e, Effect::Audit { action: "approval_expired", .. })));
    assert_eq!(status(&r), StepStatus::Failed);
    assert_eq!(r.status, ReleaseStatus::Failed);
    let late = refusal(approve(&mut r, &person(2, &["QA"])));
    assert_eq!(late.to_string(), "this approval is already decided: expired: no decision within 1d");
}

#[test]
fn an_escalating_approval_brings_in_more_deciders_then_fails_on_the_second_expiry() {
    let spec = "approvers: [\"role:QA\"]\nexpires_after: 1h\non_expiry: escalate\nescalate_to: [\"role:Managers\"]";
    let (mut r, _) = release_with(spec, "", "");
    let manager = person(7, &["Managers"]);
    assert!(matches!(refusal(approve(&mut r.clone(), &manager)), Refusal::NotAnApprover { .. }));
    let fx = r.timer_fired(&Timer { purpose: TimerPurpose::Expire(1), ..Timer::due("ok", 1, 0) }, now()).unwrap_or_default();
    assert!(fx.iter().any(|e| matches!(e, Effect::Notify(Notice::ApprovalEscalated { to, .. }) if to == &["role:Managers"])));
    assert!(fx.iter().any(|e| matches!(e, Effect::Timer(Timer { purpose: TimerPurpose::Expire(2), .. }))));
    let mut approved = r.clone();
    assert!(approve(&mut approved, &manager).is_ok(), "the escalation's deciders may decide");
    assert_eq!(status(&approved), StepStatus::Success);
    let _ = r.timer_fired(&Timer { purpose: TimerPurpose::Expire(2), ..Timer::due("ok", 1, 0) }, now());
    assert_eq!(status(&r), StepStatus::Failed);
}

#[test]
fn a_rejection_records_the_level_and_whom_the_delegate_acted_for() {
    let (mut r, _) = release_with("levels:\n  - {name: business, approvers: [\"user:2\"]}", "", "");
    let owner = person(2, &[]);
    let to_bob = Delegation::new(&owner, UserId(9), "user9", now() + Duration::hours(1), None, now()).unwrap_or_else(|e| panic!("{e}"));
    let fx = r.reject(&person(9, &[]), "ok", "not this week", &Authority::with(vec![to_bob]), now()).unwrap_or_default();
    let detail = fx.iter().find_map(|e| match e {
        Effect::Audit { action: "approval_rejected", detail, .. } => Some(detail.clone()),
        _ => None,
    });
    let detail = detail.unwrap_or_default();
    assert_eq!((detail["level"].as_str(), detail["comment"].as_str()), (Some("business"), Some("not this week")));
    assert_eq!(detail["on_behalf_of"]["id"], 2);
    assert_eq!(r.reason.as_deref(), Some("activity `ok` failed: rejected by user9 for user2: not this week"));
}

#[test]
fn someone_the_guild_does_not_make_an_approver_decides_only_by_delegation() {
    let (mut r, _) = release_with("approvers: [\"role:QA\"]", "", "");
    let qa_outside_the_guilds_approvers = person(3, &["QA"]);
    let no_own = Authority { own: false, delegations: vec![] };
    let refused = r.approve(&qa_outside_the_guilds_approvers, "ok", &no_own, now());
    assert!(matches!(refused, Err(CommandError::Refused(Refusal::NotAnApprover { .. }))), "{refused:?}");
    let alice = person(2, &["QA"]);
    let d = Delegation::new(&alice, UserId(3), "user3", now() + Duration::hours(1), None, now()).unwrap_or_else(|e| panic!("{e}"));
    let by_delegation = Authority { own: false, delegations: vec![d] };
    assert!(r.approve(&qa_outside_the_guilds_approvers, "ok", &by_delegation, now()).is_ok());
    let d = r.activity("ok").and_then(|a| a.decisions.first().cloned());
    assert_eq!(d.map(|d| d.shown_name()), Some("user3 for user2".to_string()));
}
