use super::*;
use crate::domain::release::{Decision, ReleaseStatus, StepStatus};
use crate::domain::{GuildId, ReleaseId, UserId};
use crate::store::AuditRow;
use chrono::{TimeZone, Utc};

/// Every text of an embed as Discord counts it towards its 6,000-character limit.
fn embed_size(embed: &serde_json::Value) -> usize {
    let text = |v: &serde_json::Value| v.as_str().map_or(0, |s| s.chars().count());
    let fields = embed["fields"].as_array().cloned().unwrap_or_default();
    text(&embed["title"])
        + text(&embed["description"])
        + text(&embed["footer"]["text"])
        + fields.iter().map(|f| text(&f["name"]) + text(&f["value"])).sum::<usize>()
}

fn release_of(yaml: &str) -> Release {
    let process = crate::domain::process_file::parse("p.yaml", yaml).unwrap_or_else(|e| panic!("{e:?}"));
    Release::new_draft(ReleaseId(12), GuildId(1), "Week 47".into(), process, Default::default(), UserId(1), Utc::now())
}

const QA_ROLE: u64 = 42;

fn names() -> Names {
    Names::new([(QA_ROLE, "QA".to_string())])
}

const LEVELS: &str = r#"name: p
notices: { channel: "1" }
phases:
  - id: build
    activities:
      - { id: branch-cut, manual: { checklist: x } }
      - { id: smoke, manual: { checklist: x } }
  - id: qa
    activities:
      - id: sign-off
        approval:
          levels:
            - { name: business, approvers: ["role:QA"], min: 1 }
            - { name: technical, approvers: ["role:QA"], min: 1 }
  - id: prod
    activities:
      - { id: deploy-api, manual: { checklist: x } }
"#;

fn embed_json(release: &Release, timing: &Timing) -> serde_json::Value {
    serde_json::to_value(release_card(release, &names(), timing)).unwrap_or_default()
}

fn decided(name: &str, level: u32) -> Decision {
    Decision { user: UserId(level as u64 + 5), name: name.into(), approve: true, level, on_behalf_of: None, principals: vec![] }
}

fn set(release: &mut Release, phase: usize, status: StepStatus) {
    release.phases[phase].status = status;
    for a in &mut release.phases[phase].activities {
        a.status = status;
    }
}

#[test]
fn the_cards_first_line_answers_where_the_release_is() {
    let mut release = release_of(LEVELS);
    release.status = ReleaseStatus::Running;
    set(&mut release, 0, StepStatus::Success);
    release.phases[1].status = StepStatus::Running;
    release.phases[1].activities[0].status = StepStatus::OnHold;
    let card = embed_json(&release, &Timing::default());
    assert_eq!(card["title"], "⏳ Release 12 · Week 47 — waiting for @QA (business) on sign-off (0/1)");
    let description = card["description"].as_str().unwrap_or_default();
    assert!(description.contains(&format!("waits for <@&{QA_ROLE}> (0/1)")), "{description}");
    assert!(description.contains("✅ **build** · done · 2 steps"), "a finished phase is one line: {description}");
    assert!(!description.contains("`branch-cut`"), "{description}");
    assert!(card["footer"]["text"].as_str().is_some_and(|f| f.starts_with("Release 12 · Running · process p version ")));

    let started = Utc.with_ymd_and_hms(2026, 12, 7, 14, 0, 0).single();
    let ended = Utc.with_ymd_and_hms(2026, 12, 7, 14, 42, 0).single();
    let timing = Timing { started, ended, advance_notice: None };
    for phase in 0..3 {
        set(&mut release, phase, StepStatus::Success);
    }
    release.status = ReleaseStatus::Success;
    let card = embed_json(&release, &timing);
    assert_eq!(card["title"], "✅ Release 12 · Week 47 — shipped in 42 min");
    let lines: Vec<&str> = card["description"].as_str().unwrap_or_default().lines().collect();
    assert!(lines.len() <= 5, "an ended card shrinks: {lines:?}");
    assert!(lines[0].starts_with("Took 42 min · ended <t:"), "{lines:?}");

    release.status = ReleaseStatus::Failed;
    release.phases[2].activities[0].status = StepStatus::Failed;
    assert_eq!(embed_json(&release, &timing)["title"], "❌ Release 12 · Week 47 — failed at deploy-api");

    release.status = ReleaseStatus::Aborted;
    release.reason = Some("aborted by olga: wrong build".into());
    assert_eq!(embed_json(&release, &timing)["title"], "⛔ Release 12 · Week 47 — aborted by olga: wrong build");
}

#[test]
fn a_phase_with_a_failed_step_that_was_not_critical_shows_a_warning_and_the_bar_marks_failures() {
    let mut release = release_of(LEVELS);
    release.status = ReleaseStatus::Running;
    set(&mut release, 0, StepStatus::Success);
    release.phases[0].activities[1].status = StepStatus::Ignored;
    release.phases[0].activities[1].reason = Some("smoke flaked".into());
    let description = embed_json(&release, &Timing::default())["description"].as_str().unwrap_or_default().to_string();
    assert!(description.contains("⚠️ **build** · done"), "{description}");
    assert!(description.contains("⚠️ `smoke` failed (not critical): smoke flaked"), "{description}");
    assert_eq!(card::bar(1, 1, 3), "▰✖▱");
    assert_eq!(card::bar(3, 0, 5), "▰▰▰▱▱");
    assert_eq!(card::bar(20, 0, 40), "▰▰▰▰▰▱▱▱▱▱");
    assert_eq!(card::bar(0, 0, 0), "▱");
}

#[test]
fn the_end_is_one_message_with_approvers_credited_per_level() {
    let mut release = release_of(LEVELS);
    for phase in 0..3 {
        set(&mut release, phase, StepStatus::Success);
    }
    release.status = ReleaseStatus::Success;
    release.phases[1].activities[0].decisions = vec![decided("pat", 0), decided("tess", 1)];
    let timing = Timing {
        started: Utc.with_ymd_and_hms(2026, 12, 7, 14, 0, 0).single(),
        ended: Utc.with_ymd_and_hms(2026, 12, 7, 14, 42, 0).single(),
        advance_notice: None,
    };
    let text = end_message(&release, &timing);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "✅ **Release 12 · Week 47** shipped.");
    assert!(lines[1].starts_with("Took 42 min · ended <t:"), "{text}");
    assert!(text.contains("Approved: `sign-off` business: pat · technical: tess"), "{text}");
    assert_eq!(text.matches("Week 47").count(), 1, "one headline: {text}");
}

#[test]
fn a_decided_level_credits_only_its_own_approvers_and_its_buttons_go() {
    let mut release = release_of(LEVELS);
    release.status = ReleaseStatus::Running;
    release.phases[1].status = StepStatus::Running;
    release.phases[1].activities[0].status = StepStatus::OnHold;
    release.phases[1].activities[0].decisions = vec![decided("pat", 0), decided("tess", 1)];
    let now = Utc.with_ymd_and_hms(2026, 12, 7, 14, 5, 0).single().unwrap_or_default();
    let request = "🗳️ Approval `sign-off` needed, level **technical** — <@&42> · 1 approval";
    let edit = decided_approval(request, &release, "sign-off", 1, now).map(|e| serde_json::to_value(e).unwrap_or_default());
    let edit = edit.unwrap_or_default();
    let content = edit["content"].as_str().unwrap_or_default();
    assert_eq!(content, format!("{request}\n✅ Level **technical** approved by tess <t:{}:R>", now.timestamp()));
    assert_eq!(edit["components"], serde_json::json!([]), "the button row goes");
}

#[test]
fn a_huge_release_card_fits_discords_embed_limits() {
    use std::fmt::Write as _;
    let mut yaml = "name: huge\nnotices: { channel: \"1\" }\nphases:\n".to_string();
    for p in 0..40 {
        let _ = write!(yaml, "  - id: phase-{p}\n    activities:\n");
        for a in 0..10 {
            let _ = writeln!(yaml, "      - {{ id: step-{p}-{a}, manual: {{ checklist: x }} }}");
        }
    }
    let mut release = release_of(&yaml);
    release.name = "@everyone ".repeat(20);
    release.inputs = crate::domain::inputs::Inputs(
        [("notes".to_string(), crate::domain::inputs::InputValue::Text("n".repeat(5_000)))].into_iter().collect(),
    );
    release.status = ReleaseStatus::Running;
    for phase in &mut release.phases {
        phase.status = StepStatus::Failed;
        for activity in &mut phase.activities {
            activity.status = StepStatus::Failed;
            activity.reason = Some("r".repeat(300));
        }
    }
    release.reason = Some("why ".repeat(500));
    for embed in [
        embed_json(&release, &Timing::default()),
        serde_json::to_value(release_status(&release, &names(), &Timing::default())).unwrap_or_default(),
    ] {
        assert!(embed_size(&embed) <= 6_000, "{} characters", embed_size(&embed));
        assert!(embed["title"].as_str().is_some_and(|t| t.chars().count() <= 256));
        let description = embed["description"].as_str().unwrap_or_default();
        assert!(description.chars().count() <= 4_096);
        assert!(description.contains("more phases"), "the phases that do not fit are counted");
        assert!(!description.contains("@everyone"), "names are inert");
    }
}

#[test]
fn mentions_in_user_text_are_made_inert() {
    assert_eq!(inert("@everyone ship"), "@\u{200B}everyone ship");
}

fn row(i: i64, action: &str, actor: serde_json::Value, detail: serde_json::Value) -> AuditRow {
    AuditRow {
        id: i,
        release_id: Some(3),
        at: format!("2026-11-23T10:{:02}:00+00:00", i % 60),
        actor,
        action: action.into(),
        detail,
        prev_hash: String::new(),
        hash: String::new(),
    }
}

#[test]
fn the_log_reads_in_sentences_newest_first() {
    let release = release_of(LEVELS);
    let olga = serde_json::json!({"type": "user", "id": 5, "name": "olga"});
    let quinn = serde_json::json!({"type": "user", "id": 6, "name": "quinn"});
    let rows = vec![
        row(1, "release_started", olga, serde_json::json!({})),
        row(2, "approval_given", quinn, serde_json::json!({"activity": "sign-off", "level": "business"})),
        row(
            3,
            "activity_finished",
            serde_json::json!({"type": "system"}),
            serde_json::json!({"activity": "deploy-api", "status": "Failed", "attempt": 2, "reason": "timed out"}),
        ),
    ];
    let page = audit_log(&release, &rows, 0, false);
    let lines: Vec<&str> = page.text.lines().collect();
    assert!(lines[1].ends_with("`deploy-api` failed on try 2: timed out"), "{lines:?}");
    assert!(lines[2].ends_with("quinn approved `sign-off` (level business)"), "{lines:?}");
    assert!(lines[3].ends_with("olga started the release"), "{lines:?}");
    assert!(!page.text.contains('{') && !page.text.contains("trainmaster audit"), "no raw JSON, no pointer to a tool: {}", page.text);
    let detailed = audit_log(&release, &rows, 0, true);
    assert!(detailed.text.contains("↳ `activity: deploy-api · attempt: 2 · reason: timed out · status: Failed`"), "{}", detailed.text);
}

#[test]
fn a_long_audit_log_is_paged_newest_first_each_page_within_the_limit() {
    let release = release_of(LEVELS);
    let rows: Vec<AuditRow> =
        (1..=200).map(|i| row(i, &format!("thing_{i}"), serde_json::json!({"type": "system"}), serde_json::json!({"n": i}))).collect();
    let first = audit_log(&release, &rows, 0, false);
    assert!(first.pages > 1, "200 entries do not fit one message");
    let has = |text: &str, i: i64| text.lines().any(|l| l.ends_with(&format!("Trainmaster: thing {i}")));
    assert!(has(&first.text, 200) && !has(&first.text, 1));
    let mut seen = vec![];
    for page in 0..first.pages {
        let p = audit_log(&release, &rows, page, false);
        assert!(p.text.chars().count() <= 2_000, "page {page} is {} characters", p.text.chars().count());
        assert!(p.text.contains(&format!("page {} of {}", page + 1, first.pages)));
        let on_page: Vec<i64> = (1..=200).rev().filter(|i| has(&p.text, *i)).collect();
        let positions: Vec<usize> =
            on_page.iter().filter_map(|i| p.text.find(&format!("thing {i}\n")).or_else(|| p.text.rfind(&format!("thing {i}")))).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "newest first within page {page}");
        seen.extend(on_page);
    }
    seen.sort();
    assert_eq!(seen, (1..=200).collect::<Vec<_>>(), "every entry on exactly one page");
    assert_eq!(audit_log(&release, &rows, 99, false).page, first.pages - 1, "a page past the end shows the oldest");
}

#[test]
fn durations_read_like_people_say_them() {
    assert_eq!(human_duration(chrono::TimeDelta::seconds(12)), "12 s");
    assert_eq!(human_duration(chrono::TimeDelta::seconds(200)), "3 min 20 s");
    assert_eq!(human_duration(chrono::TimeDelta::seconds(7_500)), "2 h 5 min");
    assert_eq!(human_duration(chrono::TimeDelta::seconds(-5)), "0 s");
}

#[test]
fn long_text_is_cut_with_a_marker() {
    let cut = truncate(&"x".repeat(3_000), 2_000);
    assert_eq!(cut.chars().count(), 2_000);
    assert!(cut.ends_with("(truncated)"));
}

#[test]
fn a_board_of_sixty_active_releases_stays_within_discords_embed_limits() {
    let releases: Vec<Release> = (1..=60)
        .map(|i| {
            let mut r = release_of(LEVELS);
            r.id = ReleaseId(i);
            r.name = format!("Week {i} with a long name that people like to give their releases {}", "x".repeat(60));
            let _ = r.start(&crate::domain::principal::Actor { user: UserId(1), display_name: "a".into(), roles: vec![] }, Utc::now());
            r
        })
        .collect();
    let embed = serde_json::to_value(board(&releases, &names())).unwrap_or_default();
    let description = embed["description"].as_str().unwrap_or_default();
    assert!(description.chars().count() <= 4_096, "{}", description.chars().count());
    assert!(embed_size(&embed) <= 6_000, "{}", embed_size(&embed));
    assert!(description.contains("… and ") && description.contains("more: `/release list`"), "what did not fit is counted");
    assert_eq!(embed["title"], "Release board · 60 active");
}
