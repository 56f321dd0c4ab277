//! The happy path and status, end to end through the sandbox.

use super::harness::*;
use trainmaster::sandbox::CHANNEL_ID;

#[tokio::test]
async fn a_release_runs_from_create_to_the_success_notice() -> TestResult {
    let h = Harness::start().await?;
    let created = h.slash(&alice(), "create", &[("process", "shop"), ("name", "Week 47"), ("inputs", VALID_INPUTS)]).await?;
    // Asked in the notices channel, where the live card goes: only alice sees the Draft card,
    // so the channel keeps one card per release.
    assert!(
        created.ephemeral() && created.text().contains(&format!("Its live card appears in <#{CHANNEL_ID}> when it starts")),
        "{}",
        created.text()
    );
    assert_eq!(created.title(), "📝 Release 1 · Week 47 — draft, not started");
    assert_eq!(created.state().as_deref(), Some("Draft"));
    let id = created.release_id().unwrap_or_default();
    assert!(created.footer().starts_with("Release 1 · Draft · process shop version "), "{}", created.footer());
    assert!(
        created.text().contains("Inputs: `environment` prod · `notes` Fixes checkout · `services` api, web · `version` 1.4.0"),
        "{}",
        created.text()
    );

    let started = h.slash(&alice(), "start", &[("release", &id)]).await?;
    assert!(started.ephemeral() && started.text() == "Started **Release 1 · Week 47**. Its live card follows here.", "{}", started.text());
    assert!(started.data["embeds"].as_array().is_none_or(|e| e.is_empty()), "no frozen copy of the card: {:?}", started.data);
    h.sandbox.wait_for_thread_message(CHANNEL_ID, "Started by alice").await?;

    let calls = h.receiver.wait_for_calls(1).await?;
    assert_eq!(calls[0].path, "/ci/branch-cut");
    let key = h.key(&id, "branch-cut", 1).await?;
    assert_eq!(calls[0].idempotency_key.as_deref(), Some(key.as_str()));
    assert_eq!(calls[0].body["idempotency_key"], key.as_str(), "the envelope carries the same key");
    assert_eq!(calls[0].body["body"], serde_json::json!({"version": "1.4.0", "services": "api,web", "release": "Week 47"}));
    assert_eq!(calls[0].body["activity_id"], "branch-cut");
    assert_eq!(calls[0].body["attempt"], 1);

    let approval = h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `qa-approval` needed").await?;
    assert_eq!(approval.buttons().iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>(), ["Approve", "Reject"]);
    let first = h.sandbox.click_label(&bob(), &approval, "Approve").await?;
    assert!(first.ephemeral() && first.text().contains("1 of 2"), "{}", first.text());
    let second = h.sandbox.click_label(&carol(), &approval, "Approve").await?;
    assert!(second.text().contains("goes on"), "{}", second.text());

    // Proof of delivery: the end, one message in the channel, says what shipped, how long it
    // took and who approved, with one headline.
    let end = h.sandbox.wait_for_message(CHANNEL_ID, "** shipped.").await?;
    let summary = end.text();
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines[0], format!("✅ **Release {id} · Week 47** shipped."));
    assert!(lines[1].starts_with("Took ") && lines[1].contains(" · ended <t:"), "{summary}");
    assert_eq!(lines[2], "What shipped: `environment` prod · `notes` Fixes checkout · `services` api, web · `version` 1.4.0");
    assert_eq!(lines[3], "Approved: `qa-approval` by bob and carol");
    assert!(end.json["embeds"].as_array().is_none_or(|e| e.is_empty()), "one message, no second headline in an embed");
    let deploy = h.receiver.wait_for_calls(2).await?;
    assert_eq!(deploy[1].body["body"], serde_json::json!({"target": "prod"}));

    // Progress went to the release's thread, under its card; the channel keeps the card and the end.
    let threads = h.sandbox.threads(CHANNEL_ID);
    assert_eq!(threads.len(), 1, "one thread per release");
    let notices: Vec<String> = h.sandbox.messages(threads[0]).iter().map(|m| m.content().to_string()).collect();
    for expected in [
        "▶️ Phase `build` started.",
        "✅ Phase `build` done · ▶️ `qa` started.",
        "✅ Phase `qa` done · ▶️ `prod` started.",
        "✅ Phase `prod` done.",
    ] {
        assert!(notices.iter().any(|n| n.contains(expected)), "no notice with {expected:?} in {notices:#?}");
    }

    let status = h.slash(&dave(), "status", &[("release", &id)]).await?;
    assert!(status.ephemeral());
    assert_eq!(status.state().as_deref(), Some("Shipped"));
    for activity in ["branch-cut", "qa-approval", "deploy"] {
        assert!(status.text().contains(&format!("✅ `{activity}` done")), "/release status has the detail: {}", status.text());
    }

    let trail = actions(&h.audit(&id).await?);
    for expected in [
        "release_created",
        "release_started",
        "phase_started",
        "activity_started",
        "activity_finished",
        "approval_given",
        "phase_finished",
        "release_finished",
    ] {
        assert!(trail.iter().any(|a| a == expected), "no {expected} in {trail:?}");
    }
    assert_eq!(trail.first().map(String::as_str), Some("release_created"));
    assert_eq!(trail.last().map(String::as_str), Some("release_finished"));

    // The chain's head as the release ended is published, and matches the stored chain.
    let last = h.audit(&id).await?.pop().map(|r| (r.id, r.hash)).unwrap_or_default();
    let published = h.sandbox.wait_for_message(CHANNEL_ID, "Audit trail head").await?;
    assert!(published.content().contains(&format!("row {}, SHA-256 `{}`", last.0, last.1)), "{}", published.content());
    let verified = h.store().await?.verify_audit().await?;
    assert!(verified.as_ref().is_ok_and(|(_, head)| *head == last.1), "{verified:?}");
    h.finish().await
}

#[tokio::test]
async fn only_approval_requests_ping_and_only_their_approvers() -> TestResult {
    let h = Harness::start().await?;
    let reply = h.slash(&alice(), "create", &[("process", "shop"), ("name", "@everyone ship it"), ("inputs", VALID_INPUTS)]).await?;
    assert!(reply.text().contains("@\u{200B}everyone"), "{}", reply.text());
    let id = reply.release_id().unwrap_or_default();
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    h.sandbox.wait_for_thread_message(CHANNEL_ID, "Started by alice").await?;
    h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `qa-approval` needed").await?;
    let posts: Vec<_> = h
        .sandbox
        .requests()
        .into_iter()
        // Messages and interaction answers; starting a thread posts no text.
        .filter(|r| r.method == "POST" && (r.path.ends_with("/messages") || r.path.starts_with("/interactions/")))
        .collect();
    assert!(posts.len() >= 3, "{posts:?}");
    let mut approval_requests = 0;
    for post in posts {
        let body = post.body.unwrap_or_default();
        let mentions = body.get("allowed_mentions").or_else(|| body["data"].get("allowed_mentions"));
        let mentions = mentions.unwrap_or_else(|| panic!("{} sends no allowed_mentions: {body}", post.path));
        assert!(mentions.get("parse").is_none_or(|v| v == &serde_json::json!([])), "{} allows parse: {body}", post.path);
        if body["content"].as_str().is_some_and(|c| c.contains("🗳️ Approval `qa-approval` needed")) {
            // The one message whose readers must act pings exactly its approvers.
            approval_requests += 1;
            assert_eq!(mentions["roles"], serde_json::json!([trainmaster::sandbox::roles::QA.to_string()]), "{body}");
            assert_eq!(mentions["users"], serde_json::json!(["77"]), "{body}");
            let content = body["content"].as_str().unwrap_or_default();
            assert!(content.contains(&format!("needed — <@&{}> or <@77> · 2 approvals", trainmaster::sandbox::roles::QA)), "{content}");
            continue;
        }
        for list in ["users", "roles"] {
            assert!(mentions.get(list).is_none_or(|v| v == &serde_json::json!([])), "{} allows {list}: {body}", post.path);
        }
    }
    assert_eq!(approval_requests, 1);
    h.finish().await
}

#[tokio::test]
async fn status_of_an_unknown_release_says_so() -> TestResult {
    let h = Harness::start().await?;
    let reply = h.slash(&dave(), "status", &[("release", "999")]).await?;
    assert!(reply.ephemeral());
    assert_eq!(reply.text(), "There is no release 999 in this server.");
    let reply = h.slash(&dave(), "start", &[("release", "abc")]).await?;
    assert!(reply.ephemeral() && reply.text().contains("`abc` is not a release id"), "{}", reply.text());
    h.finish().await
}

#[tokio::test]
async fn a_notice_discord_refuses_is_set_aside_and_the_release_goes_on() -> TestResult {
    let h = Harness::start().await?;
    let id = h.create(VALID_INPUTS).await?;
    // The channel is deleted under the bot after the release was created: every post to it is
    // refused. (It used to name a channel that never existed, which creating now refuses.)
    h.sandbox.fail_next("POST", &format!("/channels/{CHANNEL_ID}/messages"), 404, 100);
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    let set_aside = h.wait_for_audit(&id, "delivery_set_aside").await?;
    assert!(
        set_aside.detail["why"].as_str().is_some_and(|w| w.contains(&format!("channel {CHANNEL_ID}")) && w.contains("Unknown Channel")),
        "{}",
        set_aside.detail
    );
    h.receiver.wait_for_calls(1).await?;
    h.wait_for_audit(&id, "activity_finished").await?;
    let status = h.slash(&dave(), "status", &[("release", &id)]).await?;
    assert!(status.text().contains("✅ `branch-cut` done"), "{}", status.text());
    h.finish().await
}

#[tokio::test]
async fn a_stored_webhook_task_that_is_not_json_is_set_aside_and_the_release_goes_on() -> TestResult {
    let h = Harness::start().await?;
    let id = h.create(VALID_INPUTS).await?;
    let store = h.store().await?;
    sqlx::query(
        "INSERT INTO outbox (topic, key, release_id, payload_json, available_at) VALUES ('webhook', 'broken/1', ?, '{not json', 0)",
    )
    .bind(id.parse::<i64>()?)
    .execute(store.pool())
    .await?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    let set_aside = h.wait_for_audit(&id, "delivery_set_aside").await?;
    assert_eq!(set_aside.detail["key"], "broken/1");
    assert!(set_aside.detail["why"].as_str().is_some_and(|w| w.starts_with("unreadable payload")), "{}", set_aside.detail);
    h.receiver.wait_for_calls(1).await?;
    h.wait_for_audit(&id, "activity_finished").await?;
    h.finish().await
}

#[tokio::test]
async fn release_log_shows_who_did_what_and_when() -> TestResult {
    let h = Harness::start().await?;
    let (id, approval) = h.start_until_approval().await?;
    h.sandbox.click_label(&dave(), &approval, "Approve").await?;
    h.sandbox.click_label(&bob(), &approval, "Approve").await?;
    let log = h.slash(&dave(), "log", &[("release", &id)]).await?;
    assert!(log.ephemeral());
    let text = log.text();
    for expected in [
        "**Audit trail of Release 1 · Week 47** (entries 1–",
        ":t> alice created the release",
        ":t> alice started the release",
        ":t> dave was refused a decision on `qa-approval`",
        ":t> bob approved `qa-approval`",
    ] {
        assert!(text.contains(expected), "no {expected:?} in\n{text}");
    }
    let created = text.find("alice created the release").unwrap_or_default();
    assert!(text.find("bob approved").is_some_and(|approved| approved < created), "newest first, as the header says:\n{text}");
    assert!(!text.contains("trainmaster audit") && !text.contains('{'), "sentences, no raw JSON, no tool to run:\n{text}");
    let unknown = h.slash(&dave(), "log", &[("release", "404")]).await?;
    assert_eq!(unknown.text(), "There is no release 404 in this server.");
    h.finish().await
}

#[tokio::test]
async fn a_long_release_log_is_paged_newest_first_with_buttons() -> TestResult {
    let h = Harness::start().await?;
    let (id, approval) = h.start_until_approval().await?;
    // Each refused click is a trail entry: more than one message holds.
    for _ in 0..25 {
        h.sandbox.click_label(&dave(), &approval, "Approve").await?;
    }
    let newest = h.slash(&dave(), "log", &[("release", &id)]).await?;
    assert!(newest.text().contains("page 1 of 2") || newest.text().contains("page 1 of 3"), "{}", newest.text());
    assert!(!newest.text().contains("created the release"), "the first page is the newest entries");
    assert_eq!(
        newest.buttons().iter().map(|(label, enabled)| (label.as_str(), *enabled)).collect::<Vec<_>>(),
        [("◀ Older", true), ("Newer ▶", false), ("Show details", true)]
    );
    let mut page = newest;
    while page.buttons().first().is_some_and(|(_, enabled)| *enabled) {
        page = h.sandbox.click_reply(&dave(), &page, "◀ Older").await?;
        assert_eq!(page.kind, 7, "the log message is replaced in place");
    }
    assert!(
        page.text().contains("alice created the release")
            && page.text().contains("entries ")
            && page.text().lines().last().is_some_and(|l| l.contains("created the release")),
        "the last page is the oldest: {}",
        page.text()
    );
    let back = h.sandbox.click_reply(&dave(), &page, "Newer ▶").await?;
    assert!(back.text().contains("page") && !back.text().contains("created the release"), "{}", back.text());
    let details = h.sandbox.click_reply(&dave(), &back, "Show details").await?;
    assert!(details.text().contains("↳ `activity: qa-approval"), "details on demand: {}", details.text());
    h.finish().await
}

#[tokio::test]
async fn an_approval_request_goes_out_naming_roles_when_the_guilds_roles_cannot_be_read() -> TestResult {
    let mut h = Harness::start().await?;
    // The gateway does not describe the guild (so its roles are not cached) and every REST
    // lookup of its roles is refused. (This used to start the release in a guild the sandbox
    // does not know, which is refused now: its channel is not in that server.)
    h.stop_bot().await?;
    h.sandbox.withhold_guild_create();
    h.start_bot().await?;
    h.sandbox.fail_next("GET", &format!("/guilds/{}/roles", trainmaster::sandbox::GUILD_ID), 403, 100);
    let id = h.create(VALID_INPUTS).await?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    let request = h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `qa-approval` needed").await?;
    assert!(request.content().contains("needed — @QA or <@77> · 2 approvals"), "named, not pinged: {}", request.content());
    h.finish().await
}

#[tokio::test]
async fn approval_requests_find_named_roles_in_the_gateways_cache_without_asking_rest() -> TestResult {
    let h = Harness::start().await?;
    let (_, first) = h.start_until_approval().await?;
    let second = h.create(VALID_INPUTS).await?;
    h.slash(&alice(), "start", &[("release", &second)]).await?;
    let again = h.sandbox.wait_for_nth_thread_message(CHANNEL_ID, "Approval `qa-approval` needed", 2).await?;
    for request in [&first, &again] {
        assert!(request.content().contains(&format!("needed — <@&{}> or <@77>", trainmaster::sandbox::roles::QA)), "{}", request.content());
    }
    let role_lookups = h.sandbox.requests().iter().filter(|r| r.method == "GET" && r.path.ends_with("/roles")).count();
    assert_eq!(role_lookups, 0, "GUILD_CREATE gave the roles");
    h.finish().await
}

#[tokio::test]
async fn create_and_start_elsewhere_leave_no_frozen_card_only_one_line_pointing_at_the_live_one() -> TestResult {
    let h = Harness::start().await?;
    let alice_in_general = alice().in_channel(trainmaster::sandbox::COMMANDS_CHANNEL_ID);
    let created = h
        .sandbox
        .slash(&alice_in_general, "release", "create", &[("process", "shop"), ("name", "Week 47"), ("inputs", VALID_INPUTS)])
        .await?;
    assert!(created.ephemeral(), "a Draft card in #general would stay there, frozen: {}", created.text());
    let id = created.release_id().unwrap_or_default();
    let started = h.sandbox.slash(&alice_in_general, "release", "start", &[("release", &id)]).await?;
    assert!(!started.ephemeral(), "the team in #general sees that it started");
    assert_eq!(started.text(), format!("🚀 **Release {id} · Week 47** started by <@10>. Follow it in <#{CHANNEL_ID}>."));
    assert!(started.data["embeds"].as_array().is_none_or(|e| e.is_empty()), "one line, no card: {:?}", started.data);
    assert_eq!(started.allowed_mentions()["parse"], serde_json::json!([]), "naming alice pings nobody");
    // The live card is in the notices channel.
    h.sandbox.wait_for_embed(CHANNEL_ID, &format!("Release {id} · Week 47")).await?;
    h.finish().await
}
