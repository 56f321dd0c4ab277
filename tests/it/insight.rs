//! Insight as people meet it: `/deployed` after a success, a partial success and a rollback,
//! `/metrics dora` with its chart, `GET /inventory`, and servers kept apart.

use super::harness::*;
use anyhow::anyhow;
use trainmaster::sandbox::receiver::{Answer, WebhookReceiver};
use trainmaster::sandbox::{roles, SandboxUser, CHANNEL_ID, GUILD_ID, OTHER_GUILD_ID};

fn service_process(receiver: &WebhookReceiver) -> String {
    format!(
        r#"name: svc
inputs:
  version:     {{ type: string, required: true, identifies: version }}
  services:    {{ type: list, required: true, identifies: service }}
  environment: {{ type: choice, options: [staging, prod], default: prod, identifies: environment }}
notices: {{ channel: "{CHANNEL_ID}" }}
phases:
  - id: ship
    activities:
      - {{ id: deploy, webhook: {{ url: "{}" }}, retry: {{ attempts: 1 }} }}
      - {{ id: smoke, depends_on: [deploy], webhook: {{ url: "{}" }}, retry: {{ attempts: 1 }}, critical: false }}
      - {{ id: verify, depends_on: [smoke], webhook: {{ url: "{}" }}, retry: {{ attempts: 1 }}, on_failure: rollback }}
rollback:
  activities:
    - {{ id: revert, webhook: {{ url: "{}" }} }}
"#,
        receiver.url("/deploy"),
        receiver.url("/smoke"),
        receiver.url("/verify"),
        receiver.url("/revert")
    )
}

async fn ship(h: &Harness, version: &str, answers: &[Answer]) -> anyhow::Result<String> {
    h.receiver.script(answers);
    let id = h.create_with("svc", &format!("v{version}"), &format!("version={version} services=api")).await?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    h.wait_for_audit(&id, "release_finished").await?;
    Ok(id)
}

#[tokio::test]
async fn deployed_answers_after_a_success_a_partial_success_and_a_rollback_and_another_server_sees_nothing() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    let process = service_process(&receiver);
    let h = Harness::start_with(receiver, &process).await?;
    ship(&h, "1.0.0", &[]).await?;
    let now = h.sandbox.slash(&alice(), "deployed", "", &[]).await?;
    assert!(now.ephemeral() && now.text().contains("`api` · `prod` · **1.0.0**"), "{}", now.text());

    // Smoke fails but is not critical: partly shipped, and delivered.
    ship(&h, "1.1.0", &[Answer::Status(200), Answer::Status(500)]).await?;
    let now = h.sandbox.slash(&alice(), "deployed", "", &[("service", "api")]).await?;
    assert!(now.text().contains("**1.1.0**"), "{}", now.text());

    // Verify fails after the deploy: rolled back, prod runs 1.1.0 again.
    let rolled = ship(&h, "1.2.0", &[Answer::Status(200), Answer::Status(200), Answer::Status(500)]).await?;
    h.wait_for_audit(&rolled, "phase_finished").await?;
    let now = h.sandbox.slash(&alice(), "deployed", "", &[("environment", "prod")]).await?;
    assert!(now.text().contains("**1.1.0** (rolled back)"), "{}", now.text());
    let at = h.sandbox.slash(&alice(), "deployed", "", &[("service", "api"), ("version", "1.0.0")]).await?;
    assert!(at.text().contains("It ran in `prod` from") && at.text().contains("not any more"), "{}", at.text());
    let at = h.sandbox.slash(&alice(), "deployed", "", &[("service", "api"), ("version", "1.1.0")]).await?;
    assert!(at.text().contains("runs in `prod` since"), "{}", at.text());
    let no_service = h.sandbox.slash(&alice(), "deployed", "", &[("version", "1.1.0")]).await?;
    assert!(no_service.text().contains("Name the service too"), "{}", no_service.text());

    let elsewhere = SandboxUser::new(20, "erin", &[roles::RELEASE_MANAGERS]).in_guild(OTHER_GUILD_ID);
    let other = h.sandbox.slash(&elsewhere, "deployed", "", &[]).await?;
    assert!(other.text().contains("Nothing delivered yet"), "{}", other.text());

    let client = reqwest::Client::new();
    let inventory: serde_json::Value =
        client.get(h.http_url(&format!("/inventory?guild={GUILD_ID}"))).bearer_auth(API_TOKEN).send().await?.json().await?;
    assert_eq!(inventory["deployed"][0]["version"], "1.1.0", "{inventory}");
    assert_eq!(inventory["deployed"][0]["rolled_back"], true, "{inventory}");
    let other: serde_json::Value =
        client.get(h.http_url(&format!("/inventory?guild={OTHER_GUILD_ID}"))).bearer_auth(API_TOKEN).send().await?.json().await?;
    assert_eq!(other["deployed"], serde_json::json!([]));
    assert_eq!(client.get(h.http_url("/inventory")).send().await?.status(), 401);

    // Three deployments, one of them rolled back: a third of the changes failed.
    let dora = h.sandbox.slash(&alice(), "metrics", "dora", &[]).await?;
    let text = dora.text();
    assert!(text.contains("(3 deployments)") && text.contains("33% (1 of 3 changes)"), "{text}");
    let url = dora.data["attachments"][0]["url"].as_str().ok_or_else(|| anyhow!("no chart: {}", dora.data))?.to_string();
    let png = reqwest::get(&url).await?.bytes().await?;
    let info = png::Decoder::new(std::io::Cursor::new(png.to_vec())).read_info()?.info().clone();
    assert_eq!((info.width, info.height), (1200, 270));
    let metrics = reqwest::get(h.http_url("/metrics")).await?.text().await?;
    let gauge = format!("trainmaster_dora_change_failure_rate{{guild=\"{GUILD_ID}\",process=\"svc\",environment=\"prod\"}} 0.333");
    assert!(metrics.contains(&gauge), "{metrics}");
    assert!(metrics.contains("trainmaster_dora_deployments_per_day{"), "{metrics}");
    let bad = h.sandbox.slash(&alice(), "metrics", "dora", &[("period", "forever")]).await?;
    assert!(bad.text().contains("is not a period"), "{}", bad.text());
    h.finish().await
}

#[tokio::test]
async fn a_report_attaches_a_timeline_and_csv_and_json_that_read_back_and_match_the_trail() -> TestResult {
    let h = Harness::start().await?;
    // The first branch-cut try fails: one retry, with its reason, in the report.
    h.receiver.script(&[Answer::Status(502)]);
    let (id, approval) = h.start_until_approval().await?;
    h.sandbox.click_label(&bob(), &approval, "Approve").await?;
    h.sandbox.click_label(&carol(), &approval, "Approve").await?;
    h.wait_for_audit(&id, "release_finished").await?;

    let reply = h.slash(&dave(), "report", &[("release", &id)]).await?;
    assert!(reply.ephemeral());
    let text = reply.text();
    assert!(text.contains(&format!("Report: Release {id} · Week 47")) && text.contains("`branch-cut` 2 tries (HTTP 502"), "{text}");
    assert!(text.contains("bob approved `qa-approval`") && text.contains("carol approved `qa-approval`"), "{text}");
    let files: Vec<(String, String)> = reply.data["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| (a["filename"].as_str().unwrap_or_default().to_string(), a["url"].as_str().unwrap_or_default().to_string()))
        .collect();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["timeline.png", "report.md", "activities.csv", "report.json"]);
    let fetch = |i: usize| reqwest::get(files[i].1.clone());
    let png = fetch(0).await?.bytes().await?;
    png::Decoder::new(std::io::Cursor::new(png.to_vec())).read_info()?;
    let csv = fetch(2).await?.text().await?;
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv.as_bytes()).records().collect::<Result<_, _>>()?;
    let branch_cut = rows.iter().find(|r| &r[0] == "branch-cut").ok_or_else(|| anyhow!("no branch-cut row in {csv}"))?;
    assert_eq!((&branch_cut[2], &branch_cut[3]), ("success", "2"));
    assert!(branch_cut[7].contains("502"), "{csv}");
    let json: serde_json::Value = fetch(3).await?.json().await?;
    assert_eq!(json["release"], id.parse::<i64>()?);
    assert_eq!(json["approvals"].as_array().map(Vec::len), Some(2));
    // The numbers are the trail's: it started and ended where the audit rows say.
    let trail = h.audit(&id).await?;
    let started = trail.iter().find(|r| r.action == "release_started").map(|r| r.at.clone()).unwrap_or_default();
    let started = chrono::DateTime::parse_from_rfc3339(&started)?.with_timezone(&chrono::Utc);
    assert_eq!(json["started"], serde_json::json!(started));

    let client = reqwest::Client::new();
    let over_http = client.get(h.http_url(&format!("/releases/{id}/report?format=csv"))).bearer_auth(API_TOKEN).send().await?;
    assert_eq!(over_http.status(), 200);
    assert_eq!(over_http.text().await?, csv, "the same CSV over HTTP");
    let bad = client.get(h.http_url(&format!("/releases/{id}/report?format=pdf"))).bearer_auth(API_TOKEN).send().await?;
    assert_eq!(bad.status(), 400);
    h.finish().await
}

#[tokio::test]
async fn the_board_is_one_message_edited_in_place_as_releases_start_and_end() -> TestResult {
    let h = Harness::start().await?;
    let placed = h.slash(&alice(), "board", &[("channel", &format!("<#{CHANNEL_ID}>"))]).await?;
    assert!(placed.text().contains("The release board is in"), "{}", placed.text());
    let board = h.sandbox.wait_for_embed(CHANNEL_ID, "Release board").await?;
    assert!(board.text().contains("Nothing is running"), "{}", board.text());

    let (first, _) = h.start_until_approval().await?;
    let shown = h
        .sandbox
        .wait_for_edit(board.id, "the first release on the board", |m| m.text().contains(&format!("**{first} · Week 47**")))
        .await?;
    assert!(shown.text().contains("waiting for"), "who it waits for: {}", shown.text());
    let second = h.create(VALID_INPUTS).await?;
    h.slash(&alice(), "start", &[("release", &second)]).await?;
    h.sandbox.wait_for_edit(board.id, "both releases", |m| m.text().contains("Release board · 2 active")).await?;
    h.slash(&alice(), "abort", &[("release", &second), ("reason", "duplicate")]).await?;
    h.sandbox.wait_for_edit(board.id, "the aborted one gone", |m| m.text().contains("Release board · 1 active")).await?;
    let boards = h.sandbox.messages(CHANNEL_ID).into_iter().filter(|m| m.text().contains("Release board")).count();
    assert_eq!(boards, 1, "one message, edited in place");
    let not_here = h.slash(&alice(), "board", &[("channel", "general")]).await?;
    assert!(not_here.ephemeral() && not_here.text().contains("is not a channel"), "{}", not_here.text());
    h.finish().await
}

#[tokio::test]
async fn archiving_removes_from_lists_keeps_reports_and_the_inventory_and_deleting_an_archived_release_keeps_audit_verify_green(
) -> TestResult {
    use super::clocked::{monday, Clocked};
    let receiver = WebhookReceiver::start().await?;
    let process = service_process(&receiver);
    let mut c = Clocked::start(&[("svc.yaml", &process)], monday(), |s| {
        let p = |t: &str| t.parse().unwrap_or_else(|e| panic!("{e}"));
        s.access = trainmaster::domain::access::AccessPolicy { admins: vec![p("user:99")], guilds: Default::default() };
        let keep = trainmaster::app::GuildSettings { retention: Some(chrono::Duration::days(30)), ..Default::default() };
        s.guild_settings = vec![(trainmaster::domain::GuildId(GUILD_ID), keep)];
    })
    .await?;
    c.h.receiver = receiver;
    let id = ship(&c.h, "1.0.0", &[]).await?;
    let listed = c.h.slash(&alice(), "list", &[]).await?;
    assert!(listed.text().contains("v1.0.0"), "{}", listed.text());

    // 31 days on, past the server's 30-day retention: archived at the next start.
    c.stop_bot().await?;
    c.clock.advance(chrono::Duration::days(31));
    c.start_bot().await?;
    let row = c.h.audit(&id).await?;
    assert!(row.iter().all(|r| r.action != "releases_archived"), "the archive row names the releases, not one of them");
    let listed = c.h.slash(&alice(), "list", &[]).await?;
    assert!(!listed.text().contains("v1.0.0"), "archived releases leave the list: {}", listed.text());
    let report = c.h.slash(&alice(), "report", &[("release", &id)]).await?;
    assert!(report.text().contains(&format!("Report: Release {id}")), "{}", report.text());
    let deployed = c.sandbox.slash(&alice(), "deployed", "", &[]).await?;
    assert!(deployed.text().contains("**1.0.0**"), "{}", deployed.text());

    let refused = c.h.slash(&alice(), "delete", &[("release", &id), ("reason", "cleanup")]).await?;
    assert!(refused.ephemeral() && refused.text().contains("Only an admin may delete an archived release"), "{}", refused.text());
    let olga = SandboxUser::new(99, "olga", &[]);
    let no_reason = c.sandbox.slash(&olga, "release", "delete", &[("release", &id)]).await?;
    assert!(no_reason.text().contains("reason"), "{}", no_reason.text());
    let deleted = c.sandbox.slash(&olga, "release", "delete", &[("release", &id), ("reason", "personal data in its inputs")]).await?;
    assert!(deleted.text().contains("tombstone"), "{}", deleted.text());
    let tombstone = c.h.wait_for_audit(&id, "release_deleted").await?;
    assert_eq!(tombstone.detail["reason"], "personal data in its inputs");
    c.stop_bot().await?;
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_trainmaster"))
        .args(["audit", "verify"])
        .env("TRAINMASTER_DATABASE", c.database())
        .output()?;
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    let store = c.store().await?;
    let archived: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit WHERE action = 'releases_archived'").fetch_one(store.pool()).await?;
    assert_eq!(archived, 1);
    c.start_bot().await?;
    c.h.finish().await
}

#[tokio::test]
async fn the_weekly_digest_is_posted_once_at_its_time_with_the_weeks_deployments_and_figures() -> TestResult {
    use super::clocked::Clocked;
    let receiver = WebhookReceiver::start().await?;
    let process = service_process(&receiver);
    let monday_8 = chrono::DateTime::parse_from_rfc3339("2026-12-07T08:00:00Z")?.with_timezone(&chrono::Utc);
    let mut c = Clocked::start(&[("svc.yaml", &process)], monday_8, |s| {
        let digest = Some((trainmaster::domain::ChannelId(CHANNEL_ID), "0 9 * * mon".to_string()));
        let settings = trainmaster::app::GuildSettings { digest, ..Default::default() };
        s.guild_settings = vec![(trainmaster::domain::GuildId(GUILD_ID), settings)];
    })
    .await?;
    c.h.receiver = receiver;
    ship(&c.h, "1.0.0", &[]).await?;
    ship(&c.h, "1.1.0", &[Answer::Status(200), Answer::Status(200), Answer::Status(500)]).await?;
    c.set(monday_8 + chrono::Duration::minutes(61));
    let digest = c.sandbox.wait_for_message(CHANNEL_ID, "Weekly digest").await?;
    let text = digest.content();
    assert!(text.contains("Deployments: **2**") && text.contains("the week before 0") && text.contains("↑"), "{text}");
    assert!(text.contains("Change failure rate: **50%**") && text.contains("`api` 1.1.0 → `prod` (rolled back)"), "{text}");
    c.stop_bot().await?;
    c.start_bot().await?;
    c.h.wake_bot();
    let store = c.store().await?;
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE key LIKE 'digest/%'").fetch_one(store.pool()).await?;
    assert_eq!(queued, 1, "one digest for the week, across a restart");
    c.h.finish().await
}

#[tokio::test]
async fn lead_time_runs_from_the_earliest_change_a_collecting_webhook_reported_and_the_version_it_built_is_deployed() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    let process = format!(
        r#"name: svc
inputs:
  version: {{ type: string, required: true, identifies: version }}
notices: {{ channel: "{CHANNEL_ID}" }}
phases:
  - id: ship
    activities:
      - id: merged-prs
        collects: [changes, version]
        webhook: {{ url: "{}", outputs: {{ changes: pull_requests, version: build.version }} }}
      - {{ id: deploy, depends_on: [merged-prs], webhook: {{ url: "{}" }} }}
"#,
        receiver.url("/prs"),
        receiver.url("/deploy")
    );
    let h = Harness::start_with(receiver, &process).await?;
    let merged = |days: i64| (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc3339();
    let prs = serde_json::json!({"build": {"version": "1.0.0+build.7"}, "pull_requests": [
        {"title": "Faster search", "merged_at": merged(1)},
        {"title": "Fix login", "merged_at": merged(2)},
    ]});
    h.receiver.script(&[Answer::Json(prs), Answer::Status(200)]);
    let id = h.create_with("svc", "v1.0.0", "version=1.0.0").await?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    h.wait_for_audit(&id, "release_finished").await?;

    // Created a moment ago, but its oldest change was merged two days ago: that is the lead time.
    let metrics = reqwest::get(h.http_url("/metrics")).await?.text().await?;
    let gauge = format!("trainmaster_dora_lead_time_seconds{{guild=\"{GUILD_ID}\",process=\"svc\",environment=\"default\"}} ");
    let seconds: f64 =
        metrics.lines().find_map(|l| l.strip_prefix(gauge.as_str())).ok_or_else(|| anyhow!("no lead time gauge in {metrics}"))?.parse()?;
    assert!((172_800.0..172_800.0 + 120.0).contains(&seconds), "lead time {seconds} s, expected two days");
    let dora = h.sandbox.slash(&alice(), "metrics", "dora", &[]).await?;
    assert!(dora.text().contains("Lead time for changes (median): **2 d"), "{}", dora.text());
    let now = h.sandbox.slash(&alice(), "deployed", "", &[]).await?;
    assert!(now.text().contains("`svc` · `default` · **1.0.0+build.7**"), "the collected version, not the input: {}", now.text());
    h.finish().await
}
