//! Governance end to end: levels, groups, delegation, risk and auto-approval, time locks,
//! reminders, escalation and expiry, roles per guild, and the daily audit head.

use super::harness::*;
use trainmaster::domain::access::{AccessPolicy, GuildRoles};
use trainmaster::sandbox::receiver::WebhookReceiver;
use trainmaster::sandbox::{roles, SandboxUser, CHANNEL_ID, GUILD_ID};

/// Holds QA and Security.
fn erin() -> SandboxUser {
    SandboxUser::new(13, "erin", &[roles::QA, roles::SECURITY])
}

fn frank() -> SandboxUser {
    SandboxUser::new(14, "frank", &[roles::RELEASE_MANAGERS])
}

/// One approval (`approval` in flow YAML), then a deploy webhook.
fn gated(receiver: &WebhookReceiver, approval: &str, extra: &str) -> String {
    format!(
        "name: gated\ninputs:\n  environment: {{ type: choice, options: [staging, prod], default: staging }}\n{extra}notices: {{ channel: \"{CHANNEL_ID}\" }}\nphases:\n  - id: gate\n    activities:\n      - id: sign-off\n        approval: {approval}\n  - id: ship\n    activities:\n      - id: deploy\n        webhook: {{ url: \"{}\" }}\n",
        receiver.url("/cd/deploy")
    )
}

async fn harness(approval: &str, extra: &str) -> anyhow::Result<Harness> {
    let receiver = WebhookReceiver::start().await?;
    let process = gated(&receiver, approval, extra);
    Harness::start_with_files(receiver, &[("gated.yaml", &process)]).await
}

/// Creates and starts a `gated` release as `who`; returns its id.
async fn start(h: &Harness, who: &SandboxUser, inputs: &str) -> anyhow::Result<String> {
    let created = h.slash(who, "create", &[("process", "gated"), ("name", "Gov"), ("inputs", inputs)]).await?;
    let id = created.release_id().ok_or_else(|| anyhow::anyhow!("not created: {}", created.text()))?;
    let started = h.slash(who, "start", &[("release", &id)]).await?;
    anyhow::ensure!(!started.ephemeral() || !started.text().contains("is for"), "not started: {}", started.text());
    Ok(id)
}

#[tokio::test]
async fn levels_open_in_order_and_each_group_is_filled_by_its_own_people() -> TestResult {
    let approval = r#"{ levels: [{ name: business, approvers: ["user:77"] }, { name: security, require: [{ from: "role:QA" }, { from: "role:Security" }] }] }"#;
    let h = harness(approval, "").await?;
    let id = start(&h, &alice(), "").await?;
    let business = h.sandbox.wait_for_thread_message(CHANNEL_ID, "level **business**").await?;
    assert!(business.content().contains("level **business** — <@77> · 1 approval"), "approvers named once: {}", business.content());
    let early = h.sandbox.click_label(&bob(), &business, "Approve").await?;
    assert_eq!(early.text(), "You are not an approver at level `business`; it needs <@77>.");
    h.sandbox.click_label(&carol(), &business, "Approve").await?;
    let security = h.sandbox.wait_for_thread_message(CHANNEL_ID, "level **security**").await?;
    let (qa, sec) = (roles::QA, roles::SECURITY);
    assert!(
        security.content().contains(&format!("— <@&{qa}> or <@&{sec}> · 2 approvals, at least 1 from <@&{qa}> and 1 from <@&{sec}>")),
        "{}",
        security.content()
    );
    let closed =
        h.sandbox.wait_for_edit(business.id, "level closed", |m| m.content().contains("Level **business** approved by carol")).await?;
    assert!(closed.buttons().is_empty(), "{:?}", closed.buttons());

    // erin holds both roles but fills one group: the approval stays open until bob comes.
    let counted = h.sandbox.click_label(&erin(), &security, "Approve").await?;
    assert_eq!(counted.text(), "Approval counted: 1 of 2 for `sign-off`, level security.");
    assert_eq!(h.receiver.calls().len(), 0, "no deploy before security is complete");
    h.sandbox.click_label(&bob(), &security, "Approve").await?;
    h.receiver.wait_for_calls(1).await?;
    let given: Vec<serde_json::Value> =
        h.audit(&id).await?.into_iter().filter(|r| r.action == "approval_given").map(|r| r.detail).collect();
    let levels: Vec<(&str, &serde_json::Value)> = given.iter().map(|d| (d["level"].as_str().unwrap_or_default(), &d["as"])).collect();
    assert_eq!(
        levels,
        [
            ("business", &serde_json::json!(["user:77"])),
            ("security", &serde_json::json!(["role:QA", "role:Security"])),
            ("security", &serde_json::json!(["role:QA"]))
        ]
    );
    h.finish().await
}

#[tokio::test]
async fn a_delegate_approves_for_the_approver_until_it_is_revoked_and_never_on_their_own_release() -> TestResult {
    let h = harness(r#"{ approvers: ["user:77"] }"#, "").await?;
    let given = h.sandbox.slash(&carol(), "delegate", "give", &[("to", "<@12>"), ("until", "8h")]).await?;
    assert!(
        given.ephemeral() && given.text().starts_with("Delegated: <@12> may approve and reject for you on every process until <t:"),
        "{}",
        given.text()
    );
    assert_eq!(given.allowed_mentions()["parse"], serde_json::json!([]), "a delegation pings no one");
    let listed = h.sandbox.slash(&dave(), "delegate", "list", &[]).await?;
    assert!(listed.text().contains("You decide for <@77> on every process until"), "{}", listed.text());

    let id = start(&h, &alice(), "").await?;
    let approval = h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `sign-off` needed").await?;
    let counted = h.sandbox.click_label(&dave(), &approval, "Approve").await?;
    assert!(counted.text().starts_with("Approved:"), "{}", counted.text());
    h.sandbox
        .wait_for_edit(approval.id, "closed", |m| m.content().contains("✅ Approved by dave for carol <t:") && m.buttons().is_empty())
        .await?;
    let row = h.wait_for_audit(&id, "approval_given").await?;
    assert_eq!((row.detail["on_behalf_of"]["id"].as_u64(), row.detail["on_behalf_of"]["name"].as_str()), (Some(77), Some("carol")));
    assert_eq!(row.actor["name"].as_str(), Some("dave"));

    // dave's own release: acting for carol does not make it someone else's.
    let own = start(&h, &dave(), "").await?;
    let request = h.sandbox.wait_for_nth_thread_message(CHANNEL_ID, "Approval `sign-off` needed", 2).await?;
    let refused = h.sandbox.click_label(&dave(), &request, "Approve").await?;
    assert!(refused.text().contains("You created or started this release"), "{}", refused.text());

    let revoked = h.sandbox.slash(&carol(), "delegate", "revoke", &[]).await?;
    assert_eq!(revoked.text(), "Revoked: <@12> can no longer decide for you.");
    let third = start(&h, &alice(), "").await?;
    let request = h.sandbox.wait_for_nth_thread_message(CHANNEL_ID, "Approval `sign-off` needed", 3).await?;
    let refused = h.sandbox.click_label(&dave(), &request, "Approve").await?;
    assert!(refused.text().contains("not an approver"), "{}", refused.text());
    let store = h.store().await?;
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit WHERE release_id IS NULL ORDER BY id").fetch_all(store.pool()).await?;
    assert_eq!(actions, ["delegation_given", "delegation_revoked"]);
    let _ = (own, third);
    h.finish().await
}

#[tokio::test]
async fn risk_shows_on_the_card_and_a_low_risk_release_is_approved_automatically() -> TestResult {
    let risk = "risk:\n  - { when: \"inputs.environment == 'prod'\", level: high, because: production environment }\n";
    let h = harness(r#"{ approvers: ["role:QA"], auto_approve_if: "release.risk == 'low'" }"#, risk).await?;
    let low = start(&h, &alice(), "environment=staging").await?;
    let auto = h.sandbox.wait_for_thread_message(CHANNEL_ID, "given automatically").await?;
    assert!(auto.content().contains("`release.risk == 'low'` held (risk low)"), "{}", auto.content());
    h.receiver.wait_for_calls(1).await?;
    let row = h.wait_for_audit(&low, "approval_auto").await?;
    assert_eq!(row.detail["condition"], "release.risk == 'low'");

    let high = start(&h, &alice(), "environment=prod").await?;
    h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `sign-off` needed").await?;
    let status = h.slash(&dave(), "status", &[("release", &high)]).await?;
    assert!(status.text().contains("Risk: 🔴 high (high: production environment)"), "{}", status.text());
    let started = h.wait_for_audit(&high, "release_started").await?;
    assert_eq!(started.detail["risk"], "high");
    h.finish().await
}

#[tokio::test]
async fn a_time_locked_approval_refuses_clicks_and_says_when_it_opens() -> TestResult {
    let h = harness(r#"{ approvers: ["role:QA"], wait: 2h }"#, "").await?;
    let id = start(&h, &alice(), "").await?;
    let approval = h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `sign-off` needed").await?;
    assert!(approval.content().contains("🔒 Decisions open <t:"), "{}", approval.content());
    let refused = h.sandbox.click_label(&bob(), &approval, "Approve").await?;
    assert!(refused.ephemeral() && refused.text().starts_with("This approval is time-locked: decisions open <t:"), "{}", refused.text());
    let trail = h.audit(&id).await?;
    assert!(trail.iter().any(|r| r.action == "approval_refused"), "{:?}", actions(&trail));
    h.finish().await
}

#[tokio::test]
async fn a_waiting_approval_reminds_escalates_and_then_expires() -> TestResult {
    let approval =
        r#"{ approvers: ["role:QA"], remind_after: 1h, expires_after: 2h, on_expiry: escalate, escalate_to: ["role:Release Managers"] }"#;
    let mut h = harness(approval, "").await?;
    let id = start(&h, &alice(), "").await?;
    let request = h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `sign-off` needed").await?;

    h.stop_bot().await?;
    assert_eq!(h.make_due("/remind-1").await?, 1);
    h.start_bot().await?;
    let reminder = h.sandbox.wait_for_thread_message(CHANNEL_ID, "still waits for").await?;
    assert!(reminder.content().contains(&format!("still waits for <@&{}>: 0 of 1 so far", roles::QA)), "{}", reminder.content());
    let posted = h
        .sandbox
        .requests()
        .into_iter()
        .filter_map(|r| r.body)
        .find(|b| b["content"].as_str().is_some_and(|c| c.contains("still waits for")));
    let pinged = posted.map(|b| b["allowed_mentions"].clone()).unwrap_or_default();
    assert_eq!(pinged["roles"], serde_json::json!([roles::QA.to_string()]), "the reminder pings exactly the approvers: {pinged}");

    h.stop_bot().await?;
    assert_eq!(h.make_due("/expire-1").await?, 1);
    h.start_bot().await?;
    let escalated = h.sandbox.wait_for_thread_message(CHANNEL_ID, "may now decide").await?;
    assert!(escalated.content().contains(&format!("<@&{}>", roles::RELEASE_MANAGERS)), "{}", escalated.content());

    h.stop_bot().await?;
    assert_eq!(h.make_due("/expire-2").await?, 1);
    h.start_bot().await?;
    h.wait_for_audit(&id, "approval_expired").await?;
    let late = h.sandbox.click_label(&frank(), &request, "Approve").await?;
    assert_eq!(late.text(), "This approval is already decided: expired: no decision within 2h, even after escalating.");
    let status = h.slash(&dave(), "status", &[("release", &id)]).await?;
    assert_eq!(status.state().as_deref(), Some("Failed"));
    h.finish().await
}

#[tokio::test]
async fn an_escalated_approval_can_be_decided_by_whom_it_went_to() -> TestResult {
    let approval = r#"{ approvers: ["role:QA"], expires_after: 2h, on_expiry: escalate, escalate_to: ["role:Release Managers"] }"#;
    let mut h = harness(approval, "").await?;
    let id = start(&h, &alice(), "").await?;
    let request = h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `sign-off` needed").await?;
    let before = h.sandbox.click_label(&frank(), &request, "Approve").await?;
    assert!(before.text().contains("not an approver"), "{}", before.text());
    h.stop_bot().await?;
    h.make_due("/expire-1").await?;
    h.start_bot().await?;
    h.wait_for_audit(&id, "approval_escalated").await?;
    let after = h.sandbox.click_label(&frank(), &request, "Approve").await?;
    assert!(after.text().starts_with("Approved:"), "{}", after.text());
    h.receiver.wait_for_calls(1).await?;
    h.finish().await
}

fn policy() -> anyhow::Result<AccessPolicy> {
    let p = |s: &str| s.parse().map_err(|e| anyhow::anyhow!("{e}"));
    let roles = GuildRoles {
        release_managers: vec![p("role:Release Managers")?],
        approvers: vec![p("role:QA")?],
        viewers: vec![p("role:Developers")?],
    };
    Ok(AccessPolicy { admins: vec![p("user:99")?], guilds: [(trainmaster::domain::GuildId(GUILD_ID), roles)].into() })
}

#[tokio::test]
async fn each_persona_is_held_to_its_part_of_a_configured_guild() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    let process = shop_process(&receiver);
    let h = Harness::start_with_access(receiver, &[("shop.yaml", &process)], policy()?).await?;
    let refused = h.slash(&dave(), "create", &[("process", "shop"), ("name", "W"), ("inputs", VALID_INPUTS)]).await?;
    assert_eq!(refused.text(), "Creating a release is for <@&400000000000000001>.");
    assert_eq!(h.count_releases().await?, 0);
    let (id, approval) = h.start_until_approval().await?;

    let viewer = h.slash(&dave(), "status", &[("release", &id)]).await?;
    assert_eq!(viewer.state().as_deref(), Some("Running"));
    let stranger = SandboxUser::new(15, "sam", &[]);
    let hidden = h.slash(&stranger, "status", &[("release", &id)]).await?;
    assert_eq!(hidden.text(), "Reading releases here is for <@&400000000000000003>, <@&400000000000000001> or <@&400000000000000002>.");
    let listed = h.slash(&stranger, "list", &[]).await?;
    assert!(listed.ephemeral() && listed.text().starts_with("Reading releases here is for"), "{}", listed.text());

    // carol is named by the process (user:77) but is no approver of this guild.
    let not_guild_approver = h.sandbox.click_label(&carol(), &approval, "Approve").await?;
    assert_eq!(not_guild_approver.text(), "Deciding approvals here is for <@&400000000000000002>.");
    let counted = h.sandbox.click_label(&bob(), &approval, "Approve").await?;
    assert!(counted.text().contains("1 of 2"), "{}", counted.text());

    let held_by_viewer = h.slash(&dave(), "hold", &[("release", &id), ("reason", "x")]).await?;
    assert!(
        held_by_viewer.text().starts_with("Holding, resuming, aborting, retrying or skipping is for <@&400000000000000001>"),
        "{}",
        held_by_viewer.text()
    );
    let admin = SandboxUser::new(99, "root", &[]);
    let held = h.slash(&admin, "hold", &[("release", &id), ("reason", "audit freeze")]).await?;
    assert!(held.text().contains("on hold"), "{}", held.text());
    let manager = h.slash(&frank(), "resume", &[("release", &id)]).await?;
    assert!(manager.text().contains("running"), "{}", manager.text());
    h.finish().await
}

#[tokio::test]
async fn the_audit_head_is_posted_once_a_day_across_restarts() -> TestResult {
    let mut h = Harness::start().await?;
    h.create(VALID_INPUTS).await?;
    h.stop_bot().await?;
    h.start_bot().await?;
    let head = h.sandbox.wait_for_message(CHANNEL_ID, "Daily audit trail head").await?;
    let store = h.store().await?;
    let mut tx = store.begin().await?;
    let (row, hash) = trainmaster::store::Store::audit_head(&mut tx).await?.unwrap_or_default();
    tx.commit().await?;
    let today = chrono::Utc::now().format("%Y-%m-%d");
    assert!(head.content().contains(&format!("{today} (UTC): row {row}, SHA-256 `{hash}`")), "{}", head.content());
    h.stop_bot().await?;
    // The day's head is enqueued before the bot connects, so once it is ready the check ran.
    h.start_bot().await?;
    let store = h.store().await?;
    let enqueued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE key LIKE 'audit-head/%'").fetch_one(store.pool()).await?;
    assert_eq!(enqueued, 1, "one post a day, however often the bot restarts");
    h.finish().await
}

#[tokio::test]
async fn a_delegation_that_has_ended_gives_no_authority() -> TestResult {
    let h = harness(r#"{ approvers: ["user:77"] }"#, "").await?;
    h.sandbox.slash(&carol(), "delegate", "give", &[("to", "<@12>"), ("until", "1h")]).await?;
    // As if the hour had passed: the delegation's end moves into the past.
    let store = h.store().await?;
    let mut tx = store.begin().await?;
    let ended = sqlx::query("UPDATE delegations SET until = '2020-01-01T00:00:00Z'").execute(&mut *tx).await?;
    tx.commit().await?;
    assert_eq!(ended.rows_affected(), 1);
    let listed = h.sandbox.slash(&dave(), "delegate", "list", &[]).await?;
    assert_eq!(listed.text(), "No delegations from or to you are running.");
    start(&h, &alice(), "").await?;
    let approval = h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `sign-off` needed").await?;
    let refused = h.sandbox.click_label(&dave(), &approval, "Approve").await?;
    assert_eq!(refused.text(), "You are not an approver here; it needs <@77>.");
    h.finish().await
}
