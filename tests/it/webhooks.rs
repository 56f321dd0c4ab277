//! Webhook activities against a receiver that fails.

use super::harness::*;
use std::time::Duration;
use trainmaster::sandbox::receiver::Answer;
use trainmaster::sandbox::CHANNEL_ID;

#[tokio::test]
async fn a_webhook_that_answers_500_then_times_out_fails_the_release_with_the_reason() -> TestResult {
    let h = Harness::start().await?;
    h.receiver.script(&[Answer::Status(500), Answer::Hang(Duration::from_secs(5))]);
    let id = h.create(VALID_INPUTS).await?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;

    let retry = h.sandbox.wait_for_message(CHANNEL_ID, "try 2 is scheduled").await?;
    assert!(retry.content().contains("HTTP 500"), "{}", retry.content());
    let failed = h.sandbox.wait_for_message(CHANNEL_ID, "finished: **Failed**").await?;
    assert!(
        failed.content().contains("`branch-cut` failed after 2 tries: no answer within 1s"),
        "{}",
        failed.content()
    );

    let keys: Vec<_> = h
        .receiver
        .calls()
        .into_iter()
        .map(|c| c.idempotency_key.unwrap_or_default())
        .collect();
    assert_eq!(keys, [format!("{id}/branch-cut/1"), format!("{id}/branch-cut/2")]);
    let status = h.slash(&dave(), "status", &[("release", &id)]).await?;
    assert_eq!(status.field("Status").as_deref(), Some("Failed"));
    assert!(
        status.text().contains("`branch-cut` Failed — no answer within 1s"),
        "{}",
        status.text()
    );
    let trail = actions(&h.audit(&id).await?);
    assert!(trail.contains(&"activity_retry_scheduled".to_string()), "{trail:?}");
    h.finish().await
}
