//! State survives a restart: a release waiting for approval keeps waiting, buttons still work.

use super::harness::*;
use trainmaster::sandbox::CHANNEL_ID;

#[tokio::test]
async fn a_release_waiting_for_approval_finishes_after_a_restart() -> TestResult {
    let mut h = Harness::start().await?;
    let (id, approval) = h.start_until_approval().await?;
    h.sandbox.click_label(&bob(), &approval, "Approve").await?;
    h.stop_bot().await?;

    h.start_bot().await?;
    let status = h.slash(&dave(), "status", &[("release", &id)]).await?;
    assert!(status.text().contains("⏳ `qa-approval` waiting"), "{}", status.text());
    // The message posted by the first bot: its buttons still work.
    let reply = h.sandbox.click_label(&carol(), &approval, "Approve").await?;
    assert!(reply.text().contains("goes on"), "{}", reply.text());
    h.sandbox.wait_for_message(CHANNEL_ID, "** shipped.").await?;
    assert_eq!(h.receiver.calls().len(), 2);
    // The restarted bot went on editing the first bot's card and posting in its thread.
    let cards: Vec<_> = h.sandbox.messages(CHANNEL_ID).into_iter().filter(|m| m.content().is_empty()).collect();
    assert_eq!(cards.len(), 1);
    h.sandbox.wait_for_edit(cards[0].id, "the card shows the end", |m| m.text().contains("— shipped")).await?;
    assert_eq!(h.sandbox.threads(CHANNEL_ID), vec![cards[0].id]);
    h.finish().await
}

#[tokio::test]
async fn a_webhook_call_cut_off_by_a_stop_is_sent_again_with_the_same_key_after_restart() -> TestResult {
    let receiver = trainmaster::sandbox::receiver::WebhookReceiver::start().await?;
    receiver.script(&[trainmaster::sandbox::receiver::Answer::Hang(std::time::Duration::from_secs(60))]);
    let process = shop_process(&receiver).replace("timeout: 1s", "timeout: 5m");
    let mut h = Harness::start_with(receiver, &process).await?;
    let id = h.create(VALID_INPUTS).await?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    h.receiver.wait_for_calls(1).await?;
    h.stop_bot().await?;

    h.start_bot().await?;
    let calls = h.receiver.wait_for_calls(2).await?;
    let key = h.key(&id, "branch-cut", 1).await?;
    assert_eq!(calls[0].idempotency_key.as_deref(), Some(key.as_str()));
    assert_eq!(calls[1].idempotency_key.as_deref(), Some(key.as_str()), "a re-delivery keeps its key");
    h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `qa-approval` needed").await?;
    let finished = h.audit(&id).await?.iter().filter(|r| r.action == "activity_finished" && r.detail["activity"] == "branch-cut").count();
    assert_eq!(finished, 1, "the result is recorded once");
    h.finish().await
}
