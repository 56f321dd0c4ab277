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
    let bad = h.sandbox.slash(&alice(), "metrics", "dora", &[("period", "forever")]).await?;
    assert!(bad.text().contains("is not a period"), "{}", bad.text());
    h.finish().await
}
