use super::dora::{dora, figures, judge, trend, Shipped};
use super::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

fn row(release: i64, kind: ReleaseKind, service: &str, env: &str, outcome: Outcome, created: &str, ended: &str) -> Delivery {
    Delivery {
        release,
        process: "shop".into(),
        kind,
        service: service.into(),
        version: format!("1.{release}.0"),
        environment: env.into(),
        outcome,
        created_at: at(created),
        changed_at: None,
        delivered_at: at(ended),
        rolled_back_to: (outcome == Outcome::RolledBack).then(|| "1.0.0".into()),
    }
}

/// December 2026 in production, worked out by hand:
/// - deployments: R1, R2, R3 (hotfix), R4 (rolled back), R5, R7 = 6 in 30 days: 0.2 a day;
/// - lead times 12 h, 2 h, 1 h, 4 h, 2 h, 2 h: median 2 h;
/// - failed changes: R2 (hotfix R3 two days later), R4 (rolled back), R6 (failed after its deploy
///   step) = 3 of 7 changes; R1 is not one (R3 came 11 days after it, outside the 7-day window);
/// - restores: R2 by R3 after 48 h, R4 by R5 after 24 h, R6 by R7 after 3 h: median 24 h.
fn december() -> Vec<Delivery> {
    use Outcome::*;
    use ReleaseKind::*;
    vec![
        row(0, Standard, "api", "prod", Delivered, "2026-11-19T08:00:00Z", "2026-11-20T10:00:00Z"),
        row(1, Standard, "api", "prod", Delivered, "2026-11-30T22:00:00Z", "2026-12-01T10:00:00Z"),
        row(2, Standard, "api", "prod", Delivered, "2026-12-10T08:00:00Z", "2026-12-10T10:00:00Z"),
        row(3, Hotfix, "api", "prod", Delivered, "2026-12-12T09:00:00Z", "2026-12-12T10:00:00Z"),
        row(4, Standard, "web", "prod", RolledBack, "2026-12-15T08:00:00Z", "2026-12-15T12:00:00Z"),
        row(5, Standard, "web", "prod", Delivered, "2026-12-16T10:00:00Z", "2026-12-16T12:00:00Z"),
        row(6, Standard, "api", "prod", FailedAfterDelivering, "2026-12-20T08:00:00Z", "2026-12-20T09:00:00Z"),
        row(7, Standard, "api", "prod", Delivered, "2026-12-20T10:00:00Z", "2026-12-20T12:00:00Z"),
    ]
}

#[test]
fn dora_figures_over_a_hand_built_december_match_the_hand_worked_values() {
    let d = dora(&december(), at("2026-12-01T00:00:00Z"), at("2026-12-31T00:00:00Z"), chrono::Duration::days(7));
    assert_eq!(d.deployments, 6);
    assert!((d.per_day - 0.2).abs() < 1e-9, "{}", d.per_day);
    assert_eq!(d.lead_time, Some(chrono::Duration::hours(2)));
    assert_eq!((d.failed_changes, d.changes), (3, 7));
    assert!((d.failure_rate.unwrap_or_default() - 3.0 / 7.0).abs() < 1e-9);
    assert_eq!(d.time_to_restore, Some(chrono::Duration::hours(24)));
}

#[test]
fn lead_time_starts_at_the_earliest_change_a_release_carries() {
    // R2 carries a change from two days before its end, R5 one from three days, R7 one from two:
    // lead times 12 h, 48 h, 1 h, 4 h, 72 h, 48 h; sorted 1, 4, 12, 48, 48, 72: median 12 h.
    let mut history = december();
    for (release, changed) in [(2, "2026-12-08T10:00:00Z"), (5, "2026-12-13T12:00:00Z"), (7, "2026-12-18T12:00:00Z")] {
        history[release].changed_at = Some(at(changed));
    }
    let d = dora(&history, at("2026-12-01T00:00:00Z"), at("2026-12-31T00:00:00Z"), chrono::Duration::days(7));
    assert_eq!(d.lead_time, Some(chrono::Duration::hours(12)));
}

#[test]
fn a_weekly_trend_cuts_the_month_into_weeks_of_their_own_figures() {
    let shipped: Vec<Shipped> = december().iter().map(Shipped::from).collect();
    let judged = judge(&shipped, chrono::Duration::days(7));
    let weeks = trend(&judged, at("2026-12-01T00:00:00Z"), at("2026-12-31T00:00:00Z"), chrono::Duration::days(7), 60);
    // Dec 1–8: R1; 8–15: R2 (failed: hotfixed by R3) and R3; 15–22: R4 (rolled back), R5, R6
    // (failed after delivering), R7; 22–29: none; 29–31: none (a short last bucket).
    let counts: Vec<(usize, usize, usize)> = weeks.iter().map(|w| (w.deployments, w.changes, w.failed_changes)).collect();
    assert_eq!(counts, [(1, 1, 0), (2, 2, 1), (3, 4, 2), (0, 0, 0), (0, 0, 0)]);
    assert_eq!(weeks[4].to - weeks[4].from, chrono::Duration::days(2));
    assert_eq!(weeks[1].time_to_restore, Some(chrono::Duration::hours(48)), "R2 restored by R3");
    // Restores of R4 (24 h) and R6 (3 h): the lower middle.
    assert_eq!(weeks[2].time_to_restore, Some(chrono::Duration::hours(3)));
    let month = figures(&judged, at("2026-12-01T00:00:00Z"), at("2026-12-31T00:00:00Z"));
    assert_eq!(weeks.iter().map(|w| w.deployments).sum::<usize>(), month.deployments);
}

#[test]
fn a_wider_failure_window_makes_the_earlier_deployment_a_failed_change_too() {
    let d = dora(&december(), at("2026-12-01T00:00:00Z"), at("2026-12-31T00:00:00Z"), chrono::Duration::days(14));
    assert_eq!(d.failed_changes, 4, "R1 now has R3 within its window");
}

#[test]
fn a_period_without_releases_has_no_rates() {
    let d = dora(&december(), at("2027-02-01T00:00:00Z"), at("2027-03-01T00:00:00Z"), chrono::Duration::days(7));
    assert_eq!((d.deployments, d.failure_rate, d.lead_time, d.time_to_restore), (0, None, None, None));
}

#[test]
fn the_inventory_shows_the_latest_version_and_after_a_rollback_the_version_it_went_back_to() {
    let now = current(&december());
    let api = now.iter().find(|d| d.service == "api").map(|d| (d.version.as_str(), d.release, d.rolled_back));
    assert_eq!(api, Some(("1.7.0", 7, false)), "the latest delivery runs");
    let before_fix = current(&december()[..7]);
    let api = before_fix.iter().find(|d| d.service == "api").map(|d| (d.version.as_str(), d.release));
    assert_eq!(api, Some(("1.6.0", 6)), "a release that failed after its deploy step left its version running");
    let web = now.iter().find(|d| d.service == "web").map(|d| (d.version.as_str(), d.release));
    assert_eq!(web, Some(("1.5.0", 5)));
    let rolled = current(&december()[..5]);
    let web = rolled.iter().find(|d| d.service == "web").map(|d| (d.version.as_str(), d.rolled_back));
    assert_eq!(web, Some(("1.0.0", true)));
}

mod reports {
    use super::super::report::{report, TrailEntry};
    use super::at;
    use serde_json::json;

    fn e(at_: &str, actor: &str, action: &str, detail: serde_json::Value) -> TrailEntry {
        TrailEntry { at: at(at_), actor: actor.into(), action: action.into(), detail }
    }

    /// Started 10:00; build's webhook fails once (HTTP 502), succeeds at 10:05; QA approval asked
    /// at 10:05, bob approves at 10:35; held by olga 10:10–10:20; deploy 10:35–10:40; ended 10:40.
    fn trail() -> Vec<TrailEntry> {
        vec![
            e("2026-12-07T10:00:00Z", "alice", "release_started", json!({})),
            e("2026-12-07T10:00:00Z", "Trainmaster", "phase_started", json!({"phase": "build"})),
            e("2026-12-07T10:00:00Z", "Trainmaster", "activity_started", json!({"activity": "compile", "kind": "webhook", "attempt": 1})),
            e("2026-12-07T10:01:00Z", "Trainmaster", "activity_retry_scheduled", json!({"activity": "compile", "reason": "HTTP 502"})),
            e(
                "2026-12-07T10:05:00Z",
                "Trainmaster",
                "activity_finished",
                json!({"activity": "compile", "status": "Success", "attempt": 2}),
            ),
            e("2026-12-07T10:05:00Z", "Trainmaster", "phase_finished", json!({"phase": "build", "status": "Success"})),
            e("2026-12-07T10:05:00Z", "Trainmaster", "phase_started", json!({"phase": "qa"})),
            e(
                "2026-12-07T10:05:00Z",
                "Trainmaster",
                "activity_started",
                json!({"activity": "qa-approval", "kind": "approval", "attempt": 1}),
            ),
            e("2026-12-07T10:10:00Z", "olga", "release_held", json!({"reason": "db check"})),
            e("2026-12-07T10:20:00Z", "olga", "release_resumed", json!({})),
            e("2026-12-07T10:35:00Z", "bob", "approval_given", json!({"activity": "qa-approval", "level": ""})),
            e("2026-12-07T10:35:00Z", "Trainmaster", "activity_finished", json!({"activity": "qa-approval", "status": "Success"})),
            e("2026-12-07T10:35:00Z", "Trainmaster", "phase_finished", json!({"phase": "qa", "status": "Success"})),
            e("2026-12-07T10:35:00Z", "Trainmaster", "phase_started", json!({"phase": "prod"})),
            e("2026-12-07T10:35:00Z", "Trainmaster", "activity_started", json!({"activity": "deploy", "kind": "webhook", "attempt": 1})),
            e("2026-12-07T10:40:00Z", "Trainmaster", "activity_finished", json!({"activity": "deploy", "status": "Success"})),
            e("2026-12-07T10:40:00Z", "Trainmaster", "phase_finished", json!({"phase": "prod", "status": "Success"})),
            e("2026-12-07T10:40:00Z", "Trainmaster", "release_finished", json!({"status": "Success"})),
        ]
    }

    #[test]
    fn the_report_says_where_the_time_went_by_the_trail() {
        let r = report(12, "Week 47", "shop", "Shipped", &trail(), at("2026-12-07T12:00:00Z"));
        assert_eq!((r.total_secs, r.people_secs, r.machine_secs, r.held_secs), (40 * 60, 30 * 60, 10 * 60, 10 * 60));
        let phases: Vec<(&str, i64)> = r.phases.iter().map(|p| (p.id.as_str(), p.secs / 60)).collect();
        assert_eq!(phases, [("build", 5), ("qa", 30), ("prod", 5)]);
        let compile = &r.activities[0];
        assert_eq!((compile.tries, compile.retries.as_slice(), compile.status.as_str()), (2, &["HTTP 502".to_string()][..], "success"));
        assert_eq!(r.approvals.len(), 1);
        assert_eq!((r.approvals[0].by.as_str(), r.approvals[0].approved), ("bob", true));
        assert_eq!(r.holds[0].reason, "db check");
    }

    #[test]
    fn a_running_release_is_reported_so_far() {
        let so_far: Vec<TrailEntry> = trail().into_iter().take(8).collect();
        let r = report(12, "Week 47", "shop", "Running", &so_far, at("2026-12-07T10:15:00Z"));
        assert_eq!(r.total_secs, 15 * 60);
        assert_eq!(r.activities[1].secs, 10 * 60, "the approval has waited ten minutes so far");
    }

    #[test]
    fn the_csv_and_json_read_back_as_written() {
        let r = report(12, "Week 47", "shop", "Shipped", &trail(), at("2026-12-07T12:00:00Z"));
        let csv = r.activities_csv().unwrap_or_default();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().filter_map(Result::ok).collect();
        assert_eq!(rows.len(), 3);
        assert_eq!((&rows[0][0], &rows[0][3], &rows[0][7]), ("compile", "2", "HTTP 502"));
        let json = serde_json::to_string(&r).unwrap_or_default();
        let back: super::super::report::Report = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, r);
        assert!(r.markdown().contains("| qa | success | 30 min |"), "{}", r.markdown());
    }
}
