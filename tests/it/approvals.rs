//! Who may approve, and what a click counts for.

use super::harness::*;
use trainmaster::sandbox::CHANNEL_ID;

#[tokio::test]
async fn the_creator_cannot_approve_their_own_release() -> TestResult {
    let h = Harness::start().await?;
    let (id, approval) = h.start_until_approval().await?;
    // alice created and started it; give her the QA role so only the self rule can refuse her.
    let alice_in_qa = trainmaster::sandbox::SandboxUser::new(10, "alice", &[trainmaster::sandbox::roles::QA]);
    let reply = h.sandbox.click_label(&alice_in_qa, &approval, "Approve").await?;
    assert!(reply.ephemeral());
    assert!(reply.text().contains("You created or started this release"), "{}", reply.text());
    let trail = h.audit(&id).await?;
    assert!(
        trail
            .iter()
            .any(|r| r.action == "approval_refused" && r.detail["reason"].as_str().is_some_and(|s| s.contains("created or started"))),
        "{:?}",
        actions(&trail)
    );
    assert!(!actions(&trail).contains(&"approval_given".to_string()));
    h.finish().await
}

#[tokio::test]
async fn someone_outside_the_approvers_is_refused() -> TestResult {
    let h = Harness::start().await?;
    let (id, approval) = h.start_until_approval().await?;
    let reply = h.sandbox.click_label(&dave(), &approval, "Approve").await?;
    assert!(reply.ephemeral());
    assert!(
        reply.text().contains("not an approver") && reply.text().contains(&format!("<@&{}> or <@77>", trainmaster::sandbox::roles::QA)),
        "{}",
        reply.text()
    );
    let reject = h.sandbox.click_label(&dave(), &approval, "Reject").await?;
    assert!(reject.text().contains("not an approver"), "{}", reject.text());
    let status = h.slash(&dave(), "status", &[("release", &id)]).await?;
    assert_eq!(status.state().as_deref(), Some("Running"));
    h.finish().await
}

#[tokio::test]
async fn a_second_click_by_the_same_approver_counts_once() -> TestResult {
    let h = Harness::start().await?;
    let (id, approval) = h.start_until_approval().await?;
    let first = h.sandbox.click_label(&bob(), &approval, "Approve").await?;
    assert!(first.text().contains("1 of 2"), "{}", first.text());
    let again = h.sandbox.click_label(&bob(), &approval, "Approve").await?;
    assert!(
        again.ephemeral() && again.text().contains("already approved or rejected") && again.text().contains("1 of 2"),
        "{}",
        again.text()
    );
    let status = h.slash(&dave(), "status", &[("release", &id)]).await?;
    assert_eq!(status.title(), "⏳ Release 1 · Week 47 — waiting for @QA or a named approver on qa-approval (1/2)");
    assert!(status.text().contains("⏳ `qa-approval` waiting"), "{}", status.text());
    assert_eq!(h.receiver.calls().len(), 1, "deploy must not run on one approval");
    let given = h.audit(&id).await?.iter().filter(|r| r.action == "approval_given").count();
    assert_eq!(given, 1);
    h.finish().await
}

#[tokio::test]
async fn the_approval_message_shows_who_approved_and_closes_when_enough_have() -> TestResult {
    let h = Harness::start().await?;
    let (_id, approval) = h.start_until_approval().await?;
    assert_eq!(approval.buttons().len(), 2);
    h.sandbox.click_label(&bob(), &approval, "Approve").await?;
    let counted = h.sandbox.wait_for_edit(approval.id, "one approval", |m| m.content().contains("Approved so far by bob")).await?;
    assert_eq!(counted.buttons().len(), 2, "still open: {:?}", counted.buttons());
    assert!(counted.disabled_buttons().is_empty());
    h.sandbox.click_label(&carol(), &approval, "Approve").await?;
    let closed = h.sandbox.wait_for_edit(approval.id, "closed", |m| m.content().contains("✅ Approved by bob and carol")).await?;
    assert!(closed.buttons().is_empty(), "the decision is said once, in the text: {:?}", closed.buttons());
    assert!(closed.content().contains("✅ Approved by bob and carol <t:"), "who and when: {}", closed.content());
    let edit = h.sandbox.requests().into_iter().rfind(|r| r.method == "PATCH" && r.path.ends_with(&format!("/messages/{}", approval.id)));
    let edit = edit.and_then(|r| r.body).unwrap_or_default();
    assert_eq!(edit["allowed_mentions"]["parse"], serde_json::json!([]), "{edit}");
    let late = h.sandbox.click_label(&dave(), &approval, "Approve").await?;
    assert_eq!(late.text(), "This approval is already decided: approved by bob, carol.");
    h.finish().await
}

#[tokio::test]
async fn a_rejection_asks_why_and_fails_the_release() -> TestResult {
    let h = Harness::start().await?;
    let (id, approval) = h.start_until_approval().await?;
    let form = h.sandbox.click_label(&bob(), &approval, "Reject").await?;
    assert_eq!(form.kind, 9, "Reject asks for a reason: {:?}", form.data);
    assert!(h.sandbox.submit_modal(&bob(), &form, &[("reason", "")]).await.is_err(), "a reason is required");
    let reply = h.sandbox.submit_modal(&bob(), &form, &[("reason", "Checkout fails on @here Safari")]).await?;
    assert!(reply.ephemeral() && reply.text().contains("failed"), "{}", reply.text());
    let notice = h.sandbox.wait_for_message(CHANNEL_ID, "** failed: ").await?;
    assert!(notice.content().contains("rejected by bob: Checkout fails on @\u{200B}here Safari"), "{}", notice.content());
    assert!(!notice.text().contains("Shipped"), "nothing shipped: {}", notice.text());
    let shown = h.sandbox.wait_for_edit(approval.id, "rejected", |m| m.content().contains("❌ Rejected by bob")).await?;
    assert!(shown.buttons().is_empty(), "{:?}", shown.buttons());
    assert!(shown.content().starts_with(approval.content().lines().next().unwrap_or("?")), "{}", shown.content());
    // A client still showing the old buttons gets an explanation, not a second decision.
    let late = h.sandbox.click_label(&carol(), &approval, "Approve").await?;
    assert!(late.ephemeral(), "{}", late.text());
    assert_eq!(late.text(), "This approval is already decided: rejected by bob.");
    assert_eq!(h.receiver.calls().len(), 1, "deploy must not run after a rejection");
    let trail = h.audit(&id).await?;
    let rejected = trail.iter().find(|r| r.action == "approval_rejected");
    assert_eq!(
        rejected.map(|r| r.detail["comment"].clone()),
        Some(serde_json::json!("Checkout fails on @here Safari")),
        "{:?}",
        actions(&trail)
    );
    h.finish().await
}

#[tokio::test]
async fn another_server_can_neither_see_nor_touch_a_release() -> TestResult {
    let h = Harness::start().await?;
    let (id, approval) = h.start_until_approval().await?;
    // Same role names, same user ids even: only the server differs.
    let outsider = bob().in_guild(200_000_000_000_000_999);
    let not_here = format!("There is no release {id} in this server.");
    for subcommand in ["status", "start", "log"] {
        let reply = h.slash(&outsider, subcommand, &[("release", &id)]).await?;
        assert!(reply.ephemeral() && reply.text() == not_here, "{subcommand}: {}", reply.text());
    }
    let click = h.sandbox.click_label(&outsider, &approval, "Approve").await?;
    assert_eq!(click.text(), not_here);
    let given = h.audit(&id).await?.iter().filter(|r| r.action == "approval_given").count();
    assert_eq!(given, 0);
    h.finish().await
}

#[tokio::test]
async fn a_rejected_request_shows_the_rejecters_reason() -> TestResult {
    let h = Harness::start().await?;
    let (_, approval) = h.start_until_approval().await?;
    let form = h.sandbox.click_label(&bob(), &approval, "Reject").await?;
    let long = "Checkout fails on Safari 17 when the cart holds a gift card; ".repeat(80);
    h.sandbox.submit_modal(&bob(), &form, &[("reason", long.trim())]).await?;
    let shown = h.sandbox.wait_for_edit(approval.id, "rejected", |m| m.content().contains("❌ Rejected by bob")).await?;
    assert!(
        shown.content().contains("❌ Rejected by bob: Checkout fails on Safari 17 when the cart holds a gift card"),
        "{}",
        shown.content()
    );
    assert!(shown.content().chars().count() <= 2_000, "truncated to fit a message: {} characters", shown.content().chars().count());
    assert!(shown.buttons().is_empty(), "{:?}", shown.buttons());
    h.finish().await
}
