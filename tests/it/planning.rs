//! Planning, as people meet it: releases scheduled in chat start by themselves when the (moved)
//! clock reaches their time, advance notices go out ahead, freezes and conflicts refuse what they
//! should, release groups keep their occurrences, and the plan reads as a picture and a feed.

use super::clocked::{monday, Clocked};
use super::harness::{actions, alice, TestResult, API_TOKEN};
use anyhow::anyhow;
use chrono::{DateTime, Duration, Utc};
use trainmaster::domain::access::{AccessPolicy, GuildRoles};
use trainmaster::sandbox::receiver::WebhookReceiver;
use trainmaster::sandbox::{roles, SandboxUser, CHANNEL_ID, GUILD_ID};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

/// Thursday 10 December 2026, 14:00 in Berlin.
const THURSDAY: &str = "2026-12-10T13:00:00Z";

fn admin() -> SandboxUser {
    SandboxUser::new(99, "olga", &[])
}

/// A weekly release of the storefront, planned in Berlin time, announced a day ahead to QA.
fn weekly(receiver_url: &str, kind: &str, name: &str) -> String {
    format!(
        r#"name: {name}
kind: {kind}
time_zone: Europe/Berlin
inputs:
  version:     {{ type: string, required: true, identifies: version }}
  environment: {{ type: choice, options: [staging, prod], default: prod, identifies: environment }}
  changes:     {{ type: list, identifies: changes }}
owners: {{ stakeholders: ["role:QA"] }}
notices: {{ channel: "{CHANNEL_ID}", advance: 24h, early_access: "Try it on https://staging.example.com" }}
phases:
  - id: ship
    activities:
      - id: deploy
        webhook: {{ url: "{receiver_url}" }}
"#
    )
}

async fn planning_bot(now: DateTime<Utc>, access: AccessPolicy) -> anyhow::Result<Clocked> {
    // The receiver's address is not known before the harness starts one; the process posts to a
    // receiver the test starts first and hands to the harness's files.
    let receiver = WebhookReceiver::start().await?;
    let url = receiver.url("/cd/deploy");
    let files = [("weekly.yaml", weekly(&url, "standard", "weekly")), ("hotfix.yaml", weekly(&url, "hotfix", "hotfix"))];
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let mut c = Clocked::start(&files, now, move |s| s.access = access.clone()).await?;
    c.h.receiver = receiver;
    Ok(c)
}

fn open() -> AccessPolicy {
    AccessPolicy::default()
}

fn with_admin() -> anyhow::Result<AccessPolicy> {
    let p = |s: &str| s.parse().map_err(|e| anyhow!("{e}"));
    let roles = GuildRoles { release_managers: vec![p("role:Release Managers")?], approvers: vec![], viewers: vec![] };
    Ok(AccessPolicy { admins: vec![p("user:99")?], guilds: [(trainmaster::domain::GuildId(GUILD_ID), roles)].into() })
}

impl Clocked {
    async fn create_at(&self, process: &str, name: &str, at: &str) -> anyhow::Result<String> {
        let options = [("process", process), ("name", name), ("inputs", "version=2.0.0 changes=\"Faster checkout,New logo\""), ("at", at)];
        let reply = self.sandbox.slash(&alice(), "release", "create", &options).await?;
        reply.release_id().ok_or_else(|| anyhow!("no release card in the reply: {}", reply.text()))
    }

    async fn status_of(&self, id: &str) -> anyhow::Result<String> {
        let store = self.store().await?;
        let mut tx = store.read().await?;
        let release = trainmaster::store::Store::load_release(&mut tx, id.parse().map_err(|e: String| anyhow!(e))?).await?;
        Ok(release.map(|r| r.status.to_string()).unwrap_or_default())
    }

    /// Waits (bounded) until the outbox row whose key ends with `suffix` was delivered: then
    /// what it decided is committed.
    async fn wait_for_delivered(&self, suffix: &str) -> TestResult {
        let deadline = tokio::time::Instant::now() + trainmaster::sandbox::WAIT;
        loop {
            let store = self.store().await?;
            let done: Option<i64> = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE key LIKE '%' || ? AND done_at IS NOT NULL")
                .bind(suffix)
                .fetch_one(store.pool())
                .await?;
            if done.unwrap_or(0) > 0 {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(anyhow!("the outbox row {suffix} was not delivered"));
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    fn advance_notices(&self) -> Vec<trainmaster::sandbox::StoredMessage> {
        self.sandbox.messages(CHANNEL_ID).into_iter().filter(|m| m.content().contains("Coming up: Release")).collect()
    }
}

#[tokio::test]
async fn a_scheduled_release_is_announced_ahead_and_starts_by_itself_at_its_time_as_its_scheduler() -> TestResult {
    let c = planning_bot(monday(), open()).await?;
    let options =
        [("process", "weekly"), ("name", "Week 50"), ("inputs", "version=2.0.0 changes=\"Faster checkout,New logo\""), ("at", "thu 14:00")];
    let reply = c.sandbox.slash(&alice(), "release", "create", &options).await?;
    let id = reply.release_id().ok_or_else(|| anyhow!("no card: {}", reply.text()))?;
    assert!(reply.ephemeral() && reply.text().contains(&format!("<t:{}:F>", utc(THURSDAY).timestamp())), "{}", reply.text());
    assert!(reply.title().contains("starts Thu 10 Dec 2026 14:00 CET"), "the card says when it starts: {}", reply.title());
    assert_eq!(c.status_of(&id).await?, "NotStarted");
    assert!(c.advance_notices().is_empty(), "the notice waits until a day before");
    assert!(c.sandbox.messages(CHANNEL_ID).is_empty(), "nothing in the channel until it is announced");

    // Wednesday 14:01 Berlin: a day ahead, the notice goes out, pinging the stakeholders only.
    c.set(utc(THURSDAY) - Duration::hours(24) + Duration::minutes(1));
    let notice = c.sandbox.wait_for_message(CHANNEL_ID, "Coming up: Release").await?;
    let text = notice.content().to_string();
    for expected in [
        "Week 50",
        "version 2.0.0",
        &format!("<t:{}:F>", utc(THURSDAY).timestamp()),
        "Faster checkout",
        "Try it on",
        &format!("<@&{}>", roles::QA),
    ] {
        assert!(text.contains(expected), "the notice names {expected:?}: {text}");
    }
    let posted = c
        .sandbox
        .requests()
        .into_iter()
        .find(|r| r.body.as_ref().is_some_and(|b| b["content"].as_str().is_some_and(|t| t.contains("Coming up"))));
    let mentions = posted.and_then(|r| r.body).map(|b| b["allowed_mentions"].clone()).unwrap_or_default();
    assert_eq!(mentions["roles"], serde_json::json!([roles::QA.to_string()]), "{mentions}");
    assert!(mentions["users"].as_array().is_none_or(|u| u.is_empty()), "{mentions}");

    // Thursday 14:00 Berlin: it starts by itself, as alice, and calls its webhook once.
    c.set(utc(THURSDAY) + Duration::seconds(1));
    c.receiver.wait_for_calls(1).await?;
    let started = c.wait_for_audit(&id, "release_started").await?;
    assert!(started.actor.to_string().contains("alice"), "{}", started.actor);
    assert!(started.detail.to_string().contains("scheduled_for"), "{}", started.detail);
    let started = c.sandbox.wait_for_edit(notice.id, "the notice says it started", |m| m.content().contains("Started")).await?;
    assert!(started.content().contains("[Follow it on its card](https://discord.com/channels/"), "{}", started.content());
    let card = c.sandbox.wait_for_embed(CHANNEL_ID, &format!("Release {id}")).await?;
    c.sandbox.wait_for_edit(card.id, "the card links to the notice", |m| m.text().contains("[Advance notice](")).await?;
    assert_eq!(c.advance_notices().len(), 1, "one notice, edited");
    c.h.finish().await
}

#[tokio::test]
async fn a_restart_across_the_planned_time_starts_the_release_once() -> TestResult {
    let mut c = planning_bot(monday(), open()).await?;
    let id = c.create_at("weekly", "Week 50", "2026-12-10 14:00").await?;
    c.stop_bot().await?;
    c.clock.set(utc(THURSDAY) + Duration::hours(2));
    c.start_bot().await?;
    c.wait_for_audit(&id, "release_started").await?;
    c.receiver.wait_for_calls(1).await?;
    c.stop_bot().await?;
    c.start_bot().await?;
    c.wait_for_delivered(&format!("{id}/scheduled-start/1")).await?;
    let started = actions(&c.audit(&id).await?).iter().filter(|a| *a == "release_started").count();
    assert_eq!(started, 1, "started once across two restarts");
    // A call cut off by a stop may be sent again (at least once), always as the same run.
    let keys: std::collections::BTreeSet<Option<String>> = c.receiver.calls().into_iter().map(|call| call.idempotency_key).collect();
    assert_eq!(keys.len(), 1, "one run of its webhook: {keys:?}");
    let row = c.wait_for_audit(&id, "release_started").await?;
    let late = row.detail["late_by_secs"].as_i64().unwrap_or_default();
    assert!((7_200..7_260).contains(&late), "the trail says how late: {}", row.detail);
    c.sandbox.wait_for_thread_message(CHANNEL_ID, "Started 2 h 0 min after its planned time").await?;
    c.h.finish().await
}

#[tokio::test]
async fn moving_taking_back_and_starting_early_each_do_what_they_say_and_are_audited() -> TestResult {
    let c = planning_bot(monday(), open()).await?;
    let id = c.create_at("weekly", "Week 50", "2026-12-10 14:00").await?;
    let moved = c.sandbox.slash(&alice(), "release", "schedule", &[("release", &id), ("at", "2026-12-11 09:00")]).await?;
    assert!(moved.text().contains("starts by itself"), "{}", moved.text());
    let row = c.wait_for_audit(&id, "release_rescheduled").await?;
    assert!(row.detail.to_string().contains("\"from\""), "{}", row.detail);

    // Thursday 14:00 passes: the first schedule's timer does nothing.
    c.set(utc(THURSDAY) + Duration::minutes(1));
    c.wait_for_delivered(&format!("{id}/scheduled-start/1")).await?;
    assert_eq!(c.status_of(&id).await?, "NotStarted");

    let back = c.sandbox.slash(&alice(), "release", "unschedule", &[("release", &id), ("reason", "waiting for the payment fix")]).await?;
    assert!(back.text().contains("Draft again"), "{}", back.text());
    let row = c.wait_for_audit(&id, "release_unscheduled").await?;
    assert!(row.detail.to_string().contains("waiting for the payment fix"), "{}", row.detail);
    // Friday 09:00 passes: a Draft does not start.
    c.set(utc("2026-12-11T08:00:00Z") + Duration::minutes(1));
    c.wait_for_delivered(&format!("{id}/scheduled-start/2")).await?;
    assert_eq!(c.status_of(&id).await?, "Draft");

    // Planned again for Monday, then started by hand on Friday: early, by how much.
    c.sandbox.slash(&alice(), "release", "schedule", &[("release", &id), ("at", "2026-12-14 10:00")]).await?;
    c.sandbox.slash(&alice(), "release", "start", &[("release", &id)]).await?;
    let row = c.wait_for_audit(&id, "release_started").await?;
    assert!(row.detail.to_string().contains("early_by_secs"), "{}", row.detail);
    c.sandbox.wait_for_thread_message(CHANNEL_ID, "before its planned time").await?;
    c.h.finish().await
}

#[tokio::test]
async fn a_time_in_the_past_or_the_daylight_saving_gap_is_refused_saying_what_would_do() -> TestResult {
    let c = planning_bot(monday(), open()).await?;
    let options = |at: &'static str| [("process", "weekly"), ("name", "x"), ("inputs", "version=1.0.0"), ("at", at)];
    let past = c.sandbox.slash(&alice(), "release", "create", &options("2026-12-01 14:00")).await?;
    assert!(past.ephemeral() && past.text().contains("in the past"), "{}", past.text());
    let gap = c.sandbox.slash(&alice(), "release", "create", &options("2027-03-28 02:30")).await?;
    assert!(gap.text().contains("does not exist in Europe/Berlin") && gap.text().contains("03:00"), "{}", gap.text());
    let nonsense = c.sandbox.slash(&alice(), "release", "create", &options("soonish")).await?;
    assert!(nonsense.text().contains("`thu 14:00`"), "{}", nonsense.text());
    assert_eq!(c.count_releases().await?, 0, "nothing half-written");
    c.h.finish().await
}

#[tokio::test]
async fn a_freeze_refuses_scheduling_and_starting_in_it_lets_hotfixes_through_and_an_admin_override_is_audited_and_announced() -> TestResult
{
    let c = planning_bot(monday(), with_admin()?).await?;
    let added = c
        .sandbox
        .slash(
            &admin(),
            "freeze",
            "add",
            &[
                ("name", "Year-end"),
                ("from", "2026-12-20"),
                ("to", "2027-01-04"),
                ("reason", "holidays"),
                ("applies_to", "prod"),
                ("allow", "hotfix"),
            ],
        )
        .await?;
    assert!(added.text().contains("Freeze #1 added"), "{}", added.text());
    let not_admin = c
        .sandbox
        .slash(&super::harness::dave(), "freeze", "add", &[("name", "x"), ("from", "2026-12-20"), ("to", "2026-12-21"), ("reason", "r")])
        .await?;
    assert!(not_admin.ephemeral() && not_admin.text().to_lowercase().contains("adding freezes is for"), "{}", not_admin.text());

    let refused = c
        .sandbox
        .slash(
            &alice(),
            "release",
            "create",
            &[("process", "weekly"), ("name", "Xmas"), ("inputs", "version=1.0.0"), ("at", "2026-12-22 14:00")],
        )
        .await?;
    assert!(refused.text().contains("inside the freeze “Year-end”") && refused.text().contains("hotfix"), "{}", refused.text());
    assert_eq!(c.count_releases().await?, 0);

    // 21 December: inside the freeze.
    c.set(utc("2026-12-21T09:00:00Z"));
    let standard = c.h.create_with("weekly", "Week 52", "version=1.0.0").await?;
    let start = c.sandbox.slash(&alice(), "release", "start", &[("release", &standard)]).await?;
    assert!(start.text().contains("inside the freeze “Year-end”"), "{}", start.text());
    let overridden =
        c.sandbox.slash(&alice(), "release", "start", &[("release", &standard), ("override_freeze", "payment outage")]).await?;
    assert!(overridden.text().contains("only an admin"), "{}", overridden.text());
    assert_eq!(c.status_of(&standard).await?, "Draft");

    let hotfix = c.h.create_with("hotfix", "Hotfix 1", "version=1.0.1").await?;
    c.sandbox.slash(&alice(), "release", "start", &[("release", &hotfix)]).await?;
    c.wait_for_audit(&hotfix, "release_started").await?;

    let list = c.sandbox.slash(&alice(), "freeze", "list", &[]).await?;
    assert!(list.text().contains("Year-end") && list.text().contains("#1, added by olga: holidays"), "{}", list.text());

    c.sandbox.slash(&admin(), "release", "start", &[("release", &standard), ("override_freeze", "payment outage")]).await?;
    let row = c.wait_for_audit(&standard, "freeze_overridden").await?;
    assert!(row.detail.to_string().contains("payment outage") && row.actor.to_string().contains("olga"), "{} {}", row.actor, row.detail);
    let announced = c.sandbox.wait_for_message(CHANNEL_ID, "during the freeze").await?;
    assert!(announced.content().contains("olga") && announced.content().contains("payment outage"), "{}", announced.content());

    // Ended early: a standard release may start again.
    let ended = c.sandbox.slash(&admin(), "freeze", "end", &[("id", "1")]).await?;
    assert!(ended.text().contains("is over"), "{}", ended.text());
    let after = c.h.create_with("weekly", "Week 52b", "version=1.0.2").await?;
    c.sandbox.slash(&alice(), "release", "start", &[("release", &after)]).await?;
    c.wait_for_audit(&after, "release_started").await?;
    c.h.finish().await
}

#[tokio::test]
async fn a_conflict_names_both_releases_a_release_manager_may_go_on_with_a_reason_and_the_calendar_marks_it() -> TestResult {
    let c = planning_bot(monday(), open()).await?;
    let first = c.create_at("weekly", "Week 50", "2026-12-10 14:00").await?;
    let second = c.h.create_with("weekly", "Payments", "version=3.0.0").await?;
    let refused = c.sandbox.slash(&alice(), "release", "schedule", &[("release", &second), ("at", "2026-12-10 14:30")]).await?;
    let text = refused.text();
    assert!(text.contains(&format!("Release {second} “Payments”")) && text.contains(&format!("release {first} “Week 50”")), "{text}");
    assert!(text.contains("environment prod") && text.contains("despite_conflicts"), "{text}");
    assert_eq!(c.status_of(&second).await?, "Draft");

    let options = [("release", second.as_str()), ("at", "2026-12-10 14:30"), ("despite_conflicts", "the payments team is on call")];
    let accepted = c.sandbox.slash(&alice(), "release", "schedule", &options).await?;
    assert!(accepted.text().contains("despite overlapping"), "{}", accepted.text());
    let row = c.wait_for_audit(&second, "release_scheduled").await?;
    assert!(row.detail.to_string().contains("conflicts_accepted") && row.detail.to_string().contains("on call"), "{}", row.detail);

    let calendar = c.sandbox.slash(&alice(), "release", "calendar", &[]).await?;
    assert!(calendar.ephemeral());
    let text = calendar.text();
    assert!(text.contains("Week 50") && text.contains("Payments") && text.contains(&format!("conflicts with release {first}")), "{text}");
    let url = calendar.data["attachments"][0]["url"].as_str().unwrap_or_default().to_string();
    let png = reqwest::get(&url).await?.bytes().await?;
    let decoder = png::Decoder::new(std::io::Cursor::new(png.to_vec()));
    let reader = decoder.read_info()?;
    let info = reader.info();
    assert_eq!((info.width, info.height), (7 * 160, 46 + 2 * 30 + 34), "a week, two lanes");
    c.h.finish().await
}

#[tokio::test]
async fn the_advance_notice_goes_out_at_once_when_late_is_edited_when_moved_and_struck_through_when_aborted() -> TestResult {
    let c = planning_bot(monday(), open()).await?;
    // Tomorrow 10:00 Berlin is less than a day away: the notice goes out now.
    let id = c.create_at("weekly", "Hotfix train", "2026-12-08 10:00").await?;
    let notice = c.sandbox.wait_for_message(CHANNEL_ID, "Coming up: Release").await?;
    c.sandbox.slash(&alice(), "release", "schedule", &[("release", &id), ("at", "2026-12-09 10:00")]).await?;
    let moved = utc("2026-12-09T09:00:00Z").timestamp();
    c.sandbox.wait_for_edit(notice.id, "the new time", |m| m.content().contains(&format!("<t:{moved}:F>"))).await?;
    c.sandbox.slash(&alice(), "release", "abort", &[("release", &id), ("reason", "merged into week 50")]).await?;
    let cancelled = c.sandbox.wait_for_edit(notice.id, "cancelled", |m| m.content().contains("Cancelled")).await?;
    assert!(cancelled.content().contains("~~") && cancelled.content().contains("merged into week 50"), "{}", cancelled.content());
    assert_eq!(c.advance_notices().len(), 1, "one message, edited; never a second one");
    c.h.finish().await
}

#[tokio::test]
async fn the_calendar_feed_parses_as_icalendar_and_round_trips_the_release_times() -> TestResult {
    let c = planning_bot(monday(), open()).await?;
    let id = c.create_at("weekly", "Week 50; \"big\", one", "2026-12-10 14:00").await?;
    let url = c.http_url(&format!("/calendar.ics?token={API_TOKEN}&guild={GUILD_ID}"));
    let response = reqwest::get(&url).await?;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str()?.starts_with("text/calendar"));
    let body = response.text().await?;
    let unfolded = icalendar::parser::unfold(&body);
    let parsed = icalendar::parser::read_calendar(&unfolded).map_err(|e| anyhow!("not iCalendar: {e}"))?;
    let event = parsed.components.iter().find(|c| c.name == "VEVENT").ok_or_else(|| anyhow!("no event in {body}"))?;
    let prop = |name: &str| event.properties.iter().find(|p| p.name == name).map(|p| p.val.to_string()).unwrap_or_default();
    assert_eq!(prop("UID"), format!("release-{id}@{}", c.store().await?.installation()));
    assert_eq!(prop("DTSTART"), "20261210T130000Z");
    assert_eq!(prop("DTEND"), "20261210T140000Z", "an hour: the process has no group duration");
    assert_eq!(prop("STATUS"), "TENTATIVE");
    assert_eq!(prop("SUMMARY"), format!("Release {id} · Week 50; \"big\", one"), "escaped text reads back as written");
    let unauthorized = reqwest::get(c.http_url("/calendar.ics?token=wrong")).await?;
    assert_eq!(unauthorized.status(), 401);
    let no_guild = reqwest::get(c.http_url(&format!("/calendar.ics?token={API_TOKEN}"))).await?;
    assert_eq!(no_guild.status(), 400);
    c.h.finish().await
}

/// The weekly production train: a release group every Thursday 14:00 Berlin, two ahead.
fn train(receiver_url: &str) -> String {
    format!(
        r#"name: train
time_zone: Europe/Berlin
cadence: "0 14 * * thu"
group:
  horizon: 2
  name: "Week {{{{ iso_week }}}} production"
  inputs: {{ version: "{{{{ year }}}}.{{{{ week }}}}" }}
  duration: 2h
guilds: ["{GUILD_ID}"]
inputs:
  version: {{ type: string, required: true, identifies: version }}
notices: {{ channel: "{CHANNEL_ID}" }}
phases:
  - id: ship
    activities:
      - id: deploy
        webhook: {{ url: "{receiver_url}" }}
"#
    )
}

impl Clocked {
    /// Waits (bounded) until the database holds `n` releases.
    async fn wait_for_releases(&self, n: i64) -> TestResult {
        let deadline = tokio::time::Instant::now() + trainmaster::sandbox::WAIT;
        while self.count_releases().await? < n {
            if tokio::time::Instant::now() > deadline {
                return Err(anyhow!("{} releases, not {n}", self.count_releases().await?));
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Ok(())
    }

    async fn planned(&self) -> anyhow::Result<Vec<(String, String, String)>> {
        let store = self.store().await?;
        Ok(sqlx::query_as("SELECT name, planned_at, status FROM releases ORDER BY planned_at").fetch_all(store.pool()).await?)
    }
}

#[tokio::test]
async fn a_release_group_keeps_its_next_occurrences_planned_and_restarts_neither_lose_nor_duplicate_one() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    let process = train(&receiver.url("/cd/deploy"));
    let mut c = Clocked::start(&[("train.yaml", &process)], monday(), |_| {}).await?;
    c.h.receiver = receiver;
    c.wait_for_releases(2).await?;
    let planned = c.planned().await?;
    let expected = [
        ("Week 50 production".to_string(), "2026-12-10T13:00:00Z".to_string(), "NotStarted".to_string()),
        ("Week 51 production".to_string(), "2026-12-17T13:00:00Z".to_string(), "NotStarted".to_string()),
    ];
    assert_eq!(planned, expected);
    let list = c.sandbox.slash(&alice(), "group", "list", &[]).await?;
    assert!(list.text().contains("**train**") && list.text().contains("Europe/Berlin"), "{}", list.text());

    // Thursday: week 50 starts by itself; the group plans week 52 to keep two ahead.
    c.set(utc(THURSDAY) + Duration::seconds(5));
    c.receiver.wait_for_calls(1).await?;
    c.wait_for_releases(3).await?;
    c.stop_bot().await?;
    c.start_bot().await?;
    let show = c.sandbox.slash(&alice(), "group", "show", &[("process", "train")]).await?;
    assert!(show.text().contains("Week 52 production"), "{}", show.text());
    let names: Vec<String> = c.planned().await?.into_iter().map(|p| p.0).collect();
    assert_eq!(names, ["Week 50 production", "Week 51 production", "Week 52 production"], "no occurrence twice");

    // Down over Thursday the 17th for three hours, longer than the group's 2 h: skipped, said so.
    c.stop_bot().await?;
    c.clock.set(utc("2026-12-17T16:00:00Z"));
    c.start_bot().await?;
    c.wait_for_audit("2", "occurrence_skipped").await?;
    c.sandbox.wait_for_message(CHANNEL_ID, "skipped: it was due").await?;
    let runs: Vec<String> = c.receiver.calls().into_iter().filter_map(|call| call.idempotency_key).collect();
    assert!(runs.iter().all(|k| k.contains("/1/deploy/")), "only week 50 ran, never the missed week 51: {runs:?}");

    let skipped = c.sandbox.slash(&alice(), "group", "skip-next", &[("process", "train"), ("reason", "code freeze for the audit")]).await?;
    assert!(skipped.text().contains("Week 52 production"), "{}", skipped.text());
    let row = c.wait_for_audit("3", "occurrence_skipped").await?;
    assert!(row.detail.to_string().contains("code freeze for the audit"), "{}", row.detail);
    c.h.finish().await
}

#[tokio::test]
async fn a_paused_group_plans_nothing_new_until_resumed() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    let process = train(&receiver.url("/cd/deploy"));
    let mut c = Clocked::start(&[("train.yaml", &process)], monday(), |_| {}).await?;
    c.h.receiver = receiver;
    c.wait_for_releases(2).await?;
    let paused = c.sandbox.slash(&alice(), "group", "pause", &[("process", "train")]).await?;
    assert!(paused.text().contains("is paused"), "{}", paused.text());
    // A week on, the horizon would take week 52; paused, the planner leaves it.
    c.stop_bot().await?;
    c.clock.set(utc("2026-12-11T09:00:00Z"));
    c.start_bot().await?;
    let show = c.sandbox.slash(&alice(), "group", "show", &[("process", "train")]).await?;
    assert!(show.text().contains("paused by alice"), "{}", show.text());
    assert_eq!(c.count_releases().await?, 2);
    c.sandbox.slash(&alice(), "group", "resume", &[("process", "train")]).await?;
    c.wait_for_releases(3).await?;
    let unknown = c.sandbox.slash(&alice(), "group", "pause", &[("process", "trains")]).await?;
    assert!(
        unknown.ephemeral() && unknown.text().contains("There is no release group `trains` here; the groups are `train`"),
        "{}",
        unknown.text()
    );
    c.h.finish().await
}
