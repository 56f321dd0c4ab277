//! The bot's HTTP face over real HTTP: callbacks, CI triggers, the status API, health, metrics.

use super::harness::*;
use serde_json::json;
use trainmaster::sandbox::receiver::WebhookReceiver;
use trainmaster::sandbox::CHANNEL_ID;

#[tokio::test]
async fn a_callback_webhook_completes_only_when_the_receiver_calls_back_signed() -> TestResult {
    let (h, _secret_dir, id, callback_url) = started_callback_release().await?;
    assert!(callback_url.starts_with(&h.http_url("/hooks/activities/")), "{callback_url}");

    let good = br#"{"status": "success", "outputs": {"artifact": "https://ci/a.tgz"}, "log_url": "https://ci/log/1"}"#;
    // Each refusal: a 4xx with a reason, and the activity still running.
    let unsigned = reqwest::Client::new().post(&callback_url).body(good.to_vec()).send().await?;
    assert_eq!(unsigned.status().as_u16(), 401);
    assert!(unsigned.text().await?.contains("webhook-id header is missing"));
    let (status, body) = post_signed(&callback_url, "whsec_c2VjcmV0LXRoYXQtaXMtd3Jvbmc=", "cb-1", now(), good).await?;
    assert_eq!((status, body["error"].as_str()), (401, Some("webhook-signature does not match the body")));
    let (status, body) = post_signed(&callback_url, TRIGGER_SECRET, "cb-2", now() - 600, good).await?;
    assert_eq!((status, body["error"].as_str()), (401, Some("webhook-timestamp is more than 5 minutes from now")));
    let (status, body) = post_signed(&h.http_url("/hooks/activities/not-a-token"), TRIGGER_SECRET, "cb-3", now(), good).await?;
    assert_eq!((status, body["error"].as_str()), (404, Some("unknown callback token")));
    let (status, body) = post_signed(&callback_url, TRIGGER_SECRET, "cb-4", now(), br#"{"status": "success",}"#).await?;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().is_some_and(|e| e.contains("line 1 column 22")), "{body}");
    let status_now = h.slash(&dave(), "status", &[("release", &id)]).await?;
    assert!(status_now.text().contains("🔵 `branch-cut` running"), "{}", status_now.text());

    let (status, body) = post_signed(&callback_url, TRIGGER_SECRET, "cb-5", now(), good).await?;
    assert_eq!(status, 200, "{body}");
    h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `qa-approval` needed").await?;
    let (status, body) = post_signed(&callback_url, TRIGGER_SECRET, "cb-5", now(), good).await?;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("already used")), "{body}");
    let (status, body) = post_signed(&callback_url, TRIGGER_SECRET, "cb-6", now(), good).await?;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("which is done")), "{body}");

    let trail = h.audit(&id).await?;
    let refused = trail.iter().filter(|r| r.action == "callback_refused").count();
    assert_eq!(refused, 6, "{:?}", actions(&trail));
    let finished: Vec<_> = trail.iter().filter(|r| r.action == "activity_finished" && r.detail["activity"] == "branch-cut").collect();
    assert_eq!(finished.len(), 1);
    let api = reqwest::Client::new().get(h.http_url(&format!("/releases/{id}"))).bearer_auth(API_TOKEN).send().await?;
    let json: serde_json::Value = api.json().await?;
    assert_eq!(json["phases"][0]["activities"][0]["outputs"], json!({"artifact": "https://ci/a.tgz", "log_url": "https://ci/log/1"}));
    h.finish().await
}

#[tokio::test]
async fn a_ci_trigger_creates_and_starts_a_release_once_per_webhook_id() -> TestResult {
    let h = Harness::start().await?;
    let url = h.http_url("/hooks/releases");
    let body = json!({
        "guild_id": trainmaster::sandbox::GUILD_ID.to_string(), "process": "shop", "name": "From CI",
        "inputs": {"version": "2.0.0", "services": ["api", "web"]}, "start": true
    })
    .to_string();
    let (status, first) = post_signed(&url, TRIGGER_SECRET, "ci-run-81", now(), body.as_bytes()).await?;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["status"], "Running");
    let id = first["id"].as_i64().unwrap_or_default();
    assert_eq!(first["status_url"], h.http_url(&format!("/releases/{id}")));
    let (status, again) = post_signed(&url, TRIGGER_SECRET, "ci-run-81", now(), body.as_bytes()).await?;
    assert_eq!((status, again["id"].as_i64(), again["created"].as_bool()), (200, Some(id), Some(false)));
    assert_eq!(h.count_releases().await?, 1);
    let calls = h.receiver.wait_for_calls(1).await?;
    assert_eq!(calls[0].body["body"]["services"], "api,web");
    // CI is no Discord user: the trail names the request, not a user id.
    let trail = h.audit(&id.to_string()).await?;
    for action in ["release_created", "release_started"] {
        let row = trail.iter().find(|r| r.action == action).ok_or_else(|| anyhow::anyhow!("no {action} in {:?}", actions(&trail)))?;
        assert_eq!(row.actor, json!({"type": "ci", "webhook_id": "ci-run-81"}), "{action}");
    }

    let guild = trainmaster::sandbox::GUILD_ID.to_string();
    let bad_inputs = json!({"guild_id": guild, "process": "shop", "name": "x", "inputs": {"version": "2"}}).to_string();
    let (status, body) = post_signed(&url, TRIGGER_SECRET, "ci-run-82", now(), bad_inputs.as_bytes()).await?;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("input `services` is required")), "{body}");
    let (status, body) = post_signed(&url, TRIGGER_SECRET, "ci-run-83", now(), b"{\"process\": ").await?;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("line 1 column 12")), "{body}");
    let unsigned = reqwest::Client::new().post(&url).body(body.to_string()).send().await?;
    assert_eq!(unsigned.status().as_u16(), 401);
    let huge = reqwest::Client::new().post(&url).body(vec![b' '; 100 * 1024]).send().await?;
    assert_eq!(huge.status().as_u16(), 413);
    assert_eq!(h.count_releases().await?, 1);
    h.finish().await
}

#[tokio::test]
async fn the_status_api_needs_the_bearer_token() -> TestResult {
    let h = Harness::start().await?;
    let id = h.create(VALID_INPUTS).await?;
    let client = reqwest::Client::new();
    let url = h.http_url(&format!("/releases/{id}"));
    assert_eq!(client.get(&url).send().await?.status().as_u16(), 401);
    assert_eq!(client.get(&url).bearer_auth("wrong").send().await?.status().as_u16(), 401);
    let ok = client.get(&url).bearer_auth(API_TOKEN).send().await?;
    assert_eq!(ok.status().as_u16(), 200);
    let json: serde_json::Value = ok.json().await?;
    assert_eq!((json["status"].as_str(), json["name"].as_str(), json["process"].as_str()), (Some("Draft"), Some("Week 47"), Some("shop")));
    let missing = client.get(h.http_url("/releases/999")).bearer_auth(API_TOKEN).send().await?;
    assert_eq!(missing.status().as_u16(), 404);
    h.finish().await
}

#[tokio::test]
async fn health_readiness_and_metrics_after_a_release() -> TestResult {
    let h = Harness::start().await?;
    let client = reqwest::Client::new();
    assert_eq!(client.get(h.http_url("/healthz")).send().await?.status().as_u16(), 200);
    let ready = client.get(h.http_url("/readyz")).send().await?;
    assert_eq!(ready.status().as_u16(), 200);
    assert_eq!(ready.json::<serde_json::Value>().await?, json!({"database": "ok", "gateway": "connected", "instance_lock": "held"}));

    let (_, approval) = h.start_until_approval().await?;
    h.sandbox.click_label(&bob(), &approval, "Approve").await?;
    h.sandbox.click_label(&carol(), &approval, "Approve").await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "** shipped.").await?;
    let text = client.get(h.http_url("/metrics")).send().await?.text().await?;
    for expected in [
        "trainmaster_releases{status=\"Success\"} 1",
        "trainmaster_webhook_attempts_total{outcome=\"success\"} 2",
        "trainmaster_webhook_attempts_total{outcome=\"failure\"} 0",
        "trainmaster_webhook_call_duration_seconds_count 2",
        "trainmaster_activity_duration_seconds_count 3",
        "trainmaster_activity_duration_seconds_bucket{le=\"86400\"} 3",
        "trainmaster_outbox_depth{topic=\"webhook\"} 0",
        "# TYPE trainmaster_interaction_seconds histogram",
    ] {
        assert!(text.contains(expected), "no {expected:?} in\n{text}");
    }
    let interactions = text.lines().find(|l| l.starts_with("trainmaster_interaction_seconds_count")).unwrap_or_default();
    assert!(interactions.ends_with(" 4"), "two commands and two clicks: {interactions}");
    h.finish().await
}

#[tokio::test]
async fn a_callback_that_never_comes_fails_the_try_at_its_deadline() -> TestResult {
    let (_secret_dir, secret_path) = secret_file()?;
    let receiver = WebhookReceiver::start().await?;
    let process = callback_process(&receiver, &secret_path, "1s");
    let h = Harness::start_with(receiver, &process).await?;
    let id = h.create(VALID_INPUTS).await?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    let failed = h.sandbox.wait_for_message(CHANNEL_ID, "** failed: ").await?;
    assert!(failed.content().contains("`branch-cut` failed after 2 tries: no callback within 1s"), "{}", failed.content());
    let calls = h.receiver.calls();
    let keys: Vec<_> = calls.iter().map(|c| c.idempotency_key.clone().unwrap_or_default()).collect();
    let key = h.key(&id, "branch-cut", 1).await?;
    assert_eq!(keys, [key.clone(), key], "one run, one key across its automatic retries");
    assert_eq!(calls.iter().map(|c| c.attempt).collect::<Vec<_>>(), [Some(1), Some(2)]);
    h.finish().await
}

#[tokio::test]
async fn a_retried_trigger_finishes_a_start_that_did_not_happen() -> TestResult {
    let h = Harness::start().await?;
    let url = h.http_url("/hooks/releases");
    let request = |start: bool| {
        json!({
            "guild_id": trainmaster::sandbox::GUILD_ID.to_string(), "process": "shop", "name": "From CI", "kind": "hotfix",
            "inputs": {"version": "2.0.1", "services": "api"}, "start": start
        })
        .to_string()
    };
    let (status, first) = post_signed(&url, TRIGGER_SECRET, "ci-run-90", now(), request(false).as_bytes()).await?;
    assert_eq!((status, first["status"].as_str()), (201, Some("Draft")), "{first}");
    let (status, again) = post_signed(&url, TRIGGER_SECRET, "ci-run-90", now(), request(true).as_bytes()).await?;
    assert_eq!((status, again["status"].as_str(), again["id"].clone()), (200, Some("Running"), first["id"].clone()), "{again}");
    let api: serde_json::Value =
        reqwest::Client::new().get(h.http_url(&format!("/releases/{}", first["id"]))).bearer_auth(API_TOKEN).send().await?.json().await?;
    assert_eq!(api["kind"], "hotfix");
    assert_eq!(h.count_releases().await?, 1);
    h.finish().await
}
