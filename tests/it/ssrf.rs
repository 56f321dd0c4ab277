//! The SSRF guard and redirect handling, over real HTTP on loopback.

use serde_json::json;
use trainmaster::domain::process::Completion;
use trainmaster::domain::release::{CallOutcome, WebhookCall};
use trainmaster::sandbox::receiver::{Answer, WebhookReceiver};
use trainmaster::webhook::guard::AddressPolicy;
use trainmaster::webhook::WebhookClient;

pub fn call_to(url: &str) -> WebhookCall {
    WebhookCall { timeout_secs: 5, ..WebhookCall::post("a", url, json!({"x": 1})) }
}

pub fn failure_reason(outcome: CallOutcome) -> String {
    match outcome {
        CallOutcome::Failure { reason, .. } => reason,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn internal_addresses_are_refused_in_every_spelling() -> anyhow::Result<()> {
    let receiver = WebhookReceiver::start().await?;
    let port = receiver.url("").rsplit(':').next().unwrap_or_default().to_string();
    let client = WebhookClient::new(AddressPolicy::default(), None)?;
    for url in [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://[::1]:{port}/hook"),
        format!("http://0x7f000001:{port}/hook"),
        format!("http://2130706433:{port}/hook"),
        format!("http://localhost:{port}/hook"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://[::ffff:10.0.0.1]/hook".to_string(),
        "http://[::ffff:a00:1]/hook".to_string(),
    ] {
        let reason = failure_reason(client.call("k", &call_to(&url)).await);
        assert!(reason.contains("refused to connect") && reason.contains("internal"), "{url}: {reason}");
    }
    assert!(receiver.calls().is_empty(), "no refused call may reach the receiver");
    Ok(())
}

#[tokio::test]
async fn a_name_that_does_not_resolve_fails_with_a_clear_reason() -> anyhow::Result<()> {
    let client = WebhookClient::new(AddressPolicy::default(), None)?;
    let reason = failure_reason(client.call("k", &call_to("http://no-such-host.invalid/hook")).await);
    assert!(reason.contains("cannot resolve no-such-host.invalid") || reason.contains("no-such-host.invalid"), "{reason}");
    let reason = failure_reason(client.call("k", &call_to("ftp://example.com/x")).await);
    assert!(reason.contains("not an http or https URL"), "{reason}");
    Ok(())
}

#[tokio::test]
async fn a_redirect_to_an_internal_address_is_not_followed() -> anyhow::Result<()> {
    let allowed = WebhookReceiver::start().await?;
    let internal = WebhookReceiver::start().await?;
    allowed.script(&[Answer::Redirect(internal.url("/secret"))]);
    // Only the first receiver's address is allowed; both are on loopback, so name it by port.
    let client = WebhookClient::new(AddressPolicy::new(vec!["127.0.0.1".parse().map_err(|e: String| anyhow::anyhow!(e))?]), None)?;
    let reason = failure_reason(client.call("k", &call_to(&allowed.url("/hook"))).await);
    assert!(reason.contains("HTTP 302") && reason.contains("redirects are not followed"), "{reason}");
    assert_eq!(allowed.calls().len(), 1);
    assert!(internal.calls().is_empty(), "the redirect target must never be called");
    Ok(())
}

#[tokio::test]
async fn the_allow_list_lets_a_teams_internal_host_through() -> anyhow::Result<()> {
    let receiver = WebhookReceiver::start().await?;
    let port = receiver.url("").rsplit(':').next().unwrap_or_default().to_string();
    let client = WebhookClient::new(AddressPolicy::new(vec!["localhost".parse().map_err(|e: String| anyhow::anyhow!(e))?]), None)?;
    let outcome = client.call("k", &call_to(&format!("http://localhost:{port}/hook"))).await;
    assert_eq!(outcome, CallOutcome::success());
    assert_eq!(receiver.calls().len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_callback_webhook_is_accepted_without_its_outputs_in_the_answer() -> anyhow::Result<()> {
    let receiver = WebhookReceiver::start().await?;
    let client = WebhookClient::new(AddressPolicy::new(vec!["127.0.0.1".parse().map_err(|e: String| anyhow::anyhow!(e))?]), None)?;
    let mut call = call_to(&receiver.url("/hook"));
    call.completion = Completion::Callback;
    call.outputs = [("artifact".to_string(), "artifact.url".to_string())].into();
    // The receiver answers 200 with no body: the outputs will come with the callback.
    assert_eq!(client.call("k", &call).await, CallOutcome::Accepted);
    Ok(())
}
