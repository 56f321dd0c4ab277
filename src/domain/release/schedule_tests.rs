//! Planned starts as data: what scheduling, moving, taking back and the start timer decide.

use super::*;
use crate::domain::inputs::{parse_pairs, validate};
use crate::domain::process_file::parse;

const SOURCE: &str = include_str!("../../../processes/weekly-production.yaml");

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

fn alice() -> Actor {
    Actor { user: UserId(1), display_name: "alice".into(), roles: vec![] }
}

fn draft() -> Release {
    let process = parse("p.yaml", SOURCE).unwrap_or_else(|e| panic!("{e:?}"));
    let inputs = validate(&process, parse_pairs("version=1.4.0 services=api,web").unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    Release::new_draft(ReleaseId(7), crate::domain::GuildId(1), "Week 47".into(), process, inputs, UserId(1), at("2026-12-07T09:00:00Z"))
}

fn audit_of<'a>(fx: &'a [Effect], action: &str) -> Option<&'a serde_json::Value> {
    fx.iter().find_map(|e| match e {
        Effect::Audit { action: a, detail, .. } if *a == action => Some(detail),
        _ => None,
    })
}

#[test]
fn a_timer_of_a_moved_schedule_does_nothing_and_the_current_one_starts_it_as_its_scheduler() {
    let mut r = draft();
    let now = at("2026-12-07T09:00:00Z");
    let first = r.schedule(Some(&alice()), at("2026-12-10T13:00:00Z"), None, json!({}), now).unwrap_or_default();
    assert!(first.contains(&Effect::StartAt(StartTimer { at: at("2026-12-10T13:00:00Z"), generation: 1 })));
    let moved = r.schedule(Some(&alice()), at("2026-12-11T08:00:00Z"), None, json!({}), now).unwrap_or_default();
    assert_eq!(audit_of(&moved, "release_rescheduled").map(|d| d["from"].clone()), Some(json!("2026-12-10T13:00:00+00:00")));
    assert!(r.scheduled_start(1, at("2026-12-10T13:00:00Z")).is_none(), "the first schedule's timer is stale");
    assert_eq!(r.status, ReleaseStatus::NotStarted);
    let started = r.scheduled_start(2, at("2026-12-11T08:00:30Z")).and_then(Result::ok).unwrap_or_default();
    assert_eq!(r.status, ReleaseStatus::Running);
    assert_eq!(r.started_by, Some(Initiator::Person(UserId(1))));
    assert_eq!(audit_of(&started, "release_started").map(|d| d["late_by_secs"].clone()), Some(json!(30)));
    assert!(r.scheduled_start(2, at("2026-12-11T08:01:00Z")).is_none(), "a second firing finds it running");
}

#[test]
fn taking_a_schedule_back_needs_a_reason_and_leaves_a_draft_its_timer_ignores() {
    let mut r = draft();
    let now = at("2026-12-07T09:00:00Z");
    let _ = r.schedule(Some(&alice()), at("2026-12-10T13:00:00Z"), None, json!({}), now);
    assert_eq!(r.unschedule(&alice(), "  "), Err(CommandError::ReasonRequired));
    let fx = r.unschedule(&alice(), "waiting for the fix").unwrap_or_default();
    assert_eq!(r.status, ReleaseStatus::Draft);
    assert_eq!(audit_of(&fx, "release_unscheduled").map(|d| d["reason"].clone()), Some(json!("waiting for the fix")));
    assert!(r.scheduled_start(1, at("2026-12-10T13:00:00Z")).is_none());
}

#[test]
fn starting_a_scheduled_release_early_records_how_early() {
    let mut r = draft();
    let _ = r.schedule(Some(&alice()), at("2026-12-10T13:00:00Z"), None, json!({}), at("2026-12-07T09:00:00Z"));
    let fx = r.start(&alice(), at("2026-12-10T11:00:00Z")).unwrap_or_default();
    assert_eq!(audit_of(&fx, "release_started").map(|d| d["early_by_secs"].clone()), Some(json!(7_200)));
    assert!(fx.contains(&Effect::Notify(Notice::StartedEarly { by_secs: 7_200 })));
}

#[test]
fn a_skipped_occurrence_ends_aborted_saying_why_once() {
    let mut r = draft();
    let _ = r.schedule(None, at("2026-12-10T13:00:00Z"), Some("2026-12-10T13:00Z".into()), json!({}), at("2026-12-07T09:00:00Z"));
    let fx = r.scheduled_start_refused("it is 3 h late", true);
    assert_eq!(r.status, ReleaseStatus::Aborted);
    let said: Vec<&Effect> = fx.iter().filter(|e| matches!(e, Effect::Notify(_))).collect();
    assert_eq!(said.len(), 1, "one message: the end, {fx:?}");
}
