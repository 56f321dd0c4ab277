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

    let retry = h.sandbox.wait_for_thread_message(CHANNEL_ID, "Trying again (try 2)").await?;
    assert!(retry.content().contains("HTTP 500"), "{}", retry.content());
    let failed = h.sandbox.wait_for_message(CHANNEL_ID, "** failed: ").await?;
    assert!(failed.content().contains("`branch-cut` failed after 2 tries: no answer within 1s"), "{}", failed.content());

    let calls = h.receiver.calls();
    let keys: Vec<_> = calls.iter().map(|c| c.idempotency_key.clone().unwrap_or_default()).collect();
    let key = h.key(&id, "branch-cut", 1).await?;
    assert_eq!(keys, [key.clone(), key], "automatic retries keep the run's key (Standard Webhooks: the id names the message)");
    assert_eq!(calls.iter().map(|c| c.attempt).collect::<Vec<_>>(), [Some(1), Some(2)]);
    let status = h.slash(&dave(), "status", &[("release", &id)]).await?;
    assert_eq!(status.state().as_deref(), Some("Failed"));
    assert!(status.text().contains("❌ `branch-cut` failed: no answer within 1s"), "{}", status.text());
    let trail = actions(&h.audit(&id).await?);
    assert!(trail.contains(&"activity_retry_scheduled".to_string()), "{trail:?}");
    h.finish().await
}

#[tokio::test]
async fn a_503_with_retry_after_waits_as_long_as_the_receiver_asks() -> TestResult {
    let h = Harness::start().await?;
    h.receiver.script(&[Answer::RetryAfter(503, 2)]);
    let id = h.create(VALID_INPUTS).await?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `qa-approval` needed").await?;
    let trail = h.audit(&id).await?;
    let retry = trail.iter().find(|r| r.action == "activity_retry_scheduled");
    assert_eq!(retry.map(|r| r.detail["delay_secs"].clone()), Some(serde_json::json!(2)), "the backoff is 1s; Retry-After asked for 2s");
    assert_eq!(h.receiver.calls().len(), 2);
    h.finish().await
}

#[tokio::test]
async fn signed_calls_verify_with_an_independent_implementation_of_the_scheme() -> TestResult {
    let (_secret_dir, secret_path) = secret_file()?;
    let receiver = trainmaster::sandbox::receiver::WebhookReceiver::start().await?;
    let process =
        shop_process(&receiver).replacen("          url: \"", &format!("          secret: \"file:{secret_path}\"\n          url: \""), 1);
    let h = Harness::start_with(receiver, &process).await?;
    let id = h.create(VALID_INPUTS).await?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    let call = h.receiver.wait_for_calls(1).await?.remove(0);
    let webhook_id = call.headers.get("webhook-id").cloned().unwrap_or_default();
    let timestamp: i64 = call.headers.get("webhook-timestamp").and_then(|t| t.parse().ok()).unwrap_or_default();
    assert_eq!(webhook_id, h.key(&id, "branch-cut", 1).await?, "webhook-id is the idempotency key");
    assert!((now() - timestamp).abs() < 60);
    let expected = independent_signature(TRIGGER_SECRET, &webhook_id, timestamp, &call.raw_body);
    assert_eq!(call.headers.get("webhook-signature"), Some(&expected));
    // The secret itself never leaves: not in the body, not in the audit trail.
    let secret_text = TRIGGER_SECRET.trim_start_matches("whsec_");
    assert!(!String::from_utf8_lossy(&call.raw_body).contains(secret_text));
    let trail = h.audit(&id).await?;
    assert!(trail.iter().all(|r| !r.detail.to_string().contains(secret_text)));
    h.finish().await
}

#[tokio::test]
async fn outputs_mapped_from_a_response_feed_a_later_webhook() -> TestResult {
    let receiver = trainmaster::sandbox::receiver::WebhookReceiver::start().await?;
    receiver.script(&[Answer::Json(serde_json::json!({"artifact": {"url": "https://ci.example.com/a-1.4.0.tgz"}}))]);
    let process = shop_process(&receiver)
        .replacen("          url: \"", "          outputs: { artifact_url: artifact.url }\n          url: \"", 1)
        .replace(
            "target: \"{{ inputs.environment }}\"",
            "target: \"{{ inputs.environment }}\", artifact: \"{{ activities['branch-cut'].outputs.artifact_url }}\"",
        );
    let h = Harness::start_with(receiver, &process).await?;
    let (_, approval) = h.start_until_approval().await?;
    h.sandbox.click_label(&bob(), &approval, "Approve").await?;
    h.sandbox.click_label(&carol(), &approval, "Approve").await?;
    let calls = h.receiver.wait_for_calls(2).await?;
    assert_eq!(calls[1].body["body"], serde_json::json!({"target": "prod", "artifact": "https://ci.example.com/a-1.4.0.tgz"}));
    // The links the webhooks returned are in the proof of delivery.
    let end = h.sandbox.wait_for_message(trainmaster::sandbox::CHANNEL_ID, "** shipped.").await?;
    assert!(end.text().contains("Links: `branch-cut` artifact_url: https://ci.example.com/a-1.4.0.tgz"), "{}", end.text());
    h.finish().await
}
