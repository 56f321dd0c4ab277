//! Webhooks that call a tool's own API: the request arrives exactly as rendered, secrets are
//! revealed only on the wire, polls follow the work and survive a restart.

use super::harness::*;
use super::standins::{self, Outcome};
use trainmaster::sandbox::receiver::{Answer, WebhookReceiver};
use trainmaster::sandbox::CHANNEL_ID;

const TOKEN: &str = "tok-3f9a-standin-secret";

/// A process whose one activity is `activity` (YAML lines under `- id: call`), with a secret
/// `api_token` read from a file holding `TOKEN`.
fn process(activity: &str, secret_path: &str) -> String {
    format!(
        "name: raw\nsecrets: {{ api_token: \"file:{secret_path}\" }}\ninputs:\n  version: {{ type: string, required: true }}\nnotices: {{ channel: \"{CHANNEL_ID}\" }}\nphases:\n  - id: p\n    activities:\n      - id: call\n{activity}"
    )
}

fn token_file() -> anyhow::Result<(tempfile::TempDir, String)> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("token");
    std::fs::write(&path, format!("{TOKEN}\n"))?;
    Ok((dir, path.display().to_string()))
}

async fn start_raw(h: &Harness) -> anyhow::Result<String> {
    let created = h.slash(&alice(), "create", &[("process", "raw"), ("name", "Raw 1"), ("inputs", "version=1.4.0")]).await?;
    let id = created.release_id().ok_or_else(|| anyhow::anyhow!("{}", created.text()))?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    Ok(id)
}

#[tokio::test]
async fn a_raw_request_arrives_byte_exact_with_its_headers_query_and_the_secret_only_on_the_wire() -> TestResult {
    let (_dir, path) = token_file()?;
    let receiver = WebhookReceiver::start().await?;
    let activity = format!(
        "        webhook:\n          url: \"{}\"\n          method: PUT\n          envelope: false\n          content_type: text/csv\n          query: {{ v: \"{{{{ inputs.version }}}}\", note: \"a b&c\" }}\n          headers: {{ X-Api-Token: \"{{{{ secrets.api_token }}}}\", X-Version: \"{{{{ inputs.version }}}}\" }}\n          body: \"version,token\\n{{{{ inputs.version }}}},{{{{ secrets.api_token }}}}\\n\"\n",
        receiver.url("/hook")
    );
    let h = Harness::start_with(receiver, &process(&activity, &path)).await?;
    let id = start_raw(&h).await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "** shipped.").await?;
    let call = h.receiver.calls().remove(0);
    assert_eq!(call.method, "PUT");
    assert_eq!(call.raw_body, format!("version,token\n1.4.0,{TOKEN}\n").into_bytes(), "exactly the rendered body, no envelope");
    assert_eq!(call.query.as_deref(), Some("note=a+b%26c&v=1.4.0"), "parameters in name order");
    assert_eq!(call.headers.get("content-type").map(String::as_str), Some("text/csv"));
    assert_eq!(call.headers.get("x-api-token").map(String::as_str), Some(TOKEN));
    assert_eq!(call.headers.get("x-version").map(String::as_str), Some("1.4.0"));
    assert_eq!(call.headers.get("trainmaster-attempt").map(String::as_str), Some("1"));
    assert_eq!(call.idempotency_key, Some(h.key(&id, "call", 1).await?));
    let status = h.slash(&alice(), "status", &[("release", &id)]).await?;
    let trail = serde_json::to_string(&h.audit(&id).await?.iter().map(|r| &r.detail).collect::<Vec<_>>())?;
    assert!(!status.text().contains(TOKEN) && !trail.contains(TOKEN), "the secret is in neither /release status nor the trail");
    h.finish().await
}

#[tokio::test]
async fn a_form_body_is_form_encoded() -> TestResult {
    let (_dir, path) = token_file()?;
    let receiver = WebhookReceiver::start().await?;
    let activity = format!(
        "        webhook:\n          url: \"{}\"\n          envelope: false\n          content_type: application/x-www-form-urlencoded\n          body: {{ token: \"{{{{ secrets.api_token }}}}\", ref: main, \"variables[VERSION]\": \"{{{{ inputs.version }}}}\" }}\n",
        receiver.url("/trigger")
    );
    let h = Harness::start_with(receiver, &process(&activity, &path)).await?;
    start_raw(&h).await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "** shipped.").await?;
    let call = h.receiver.calls().remove(0);
    assert_eq!(String::from_utf8_lossy(&call.raw_body), format!("ref=main&token={TOKEN}&variables%5BVERSION%5D=1.4.0"));
    assert_eq!(call.headers.get("content-type").map(String::as_str), Some("application/x-www-form-urlencoded"));
    h.finish().await
}

#[tokio::test]
async fn an_answer_that_echoes_the_secret_is_shown_with_stars() -> TestResult {
    let (_dir, path) = token_file()?;
    let receiver = WebhookReceiver::start().await?;
    receiver.script(&[Answer::Text(401, format!("invalid token {TOKEN} for /hook"))]);
    let activity = format!(
        "        webhook: {{ url: \"{}\", envelope: false, auth: {{ bearer: \"{{{{ secrets.api_token }}}}\" }} }}\n",
        receiver.url("/hook")
    );
    let h = Harness::start_with(receiver, &process(&activity, &path)).await?;
    let id = start_raw(&h).await?;
    let end = h.sandbox.wait_for_message(CHANNEL_ID, "** failed: ").await?;
    assert!(end.content().contains("HTTP 401 Unauthorized: invalid token *** for /hook"), "{}", end.content());
    assert_eq!(h.receiver.calls()[0].headers.get("authorization").map(String::as_str), Some(format!("Bearer {TOKEN}").as_str()));
    let trail = serde_json::to_string(&h.audit(&id).await?.iter().map(|r| &r.detail).collect::<Vec<_>>())?;
    assert!(trail.contains("invalid token ***") && !trail.contains(TOKEN), "{trail}");
    h.finish().await
}

#[tokio::test]
async fn a_poll_that_never_sees_the_end_fails_the_release_naming_its_last_look() -> TestResult {
    let (_dir, path) = token_file()?;
    let receiver = WebhookReceiver::start().await?;
    receiver.answer_by_default(Answer::Json(serde_json::json!({"state": "running"})));
    let activity = format!(
        "        webhook:\n          url: \"{0}\"\n          envelope: false\n          then:\n            poll: {{ url: \"{0}/status\", interval: 1s, timeout: 2s, until: \"response.state == 'done'\" }}\n",
        receiver.url("/run")
    );
    let h = Harness::start_with(receiver, &process(&activity, &path)).await?;
    start_raw(&h).await?;
    let end = h.sandbox.wait_for_message(CHANNEL_ID, "** failed: ").await?;
    assert!(end.content().contains("the run did not finish within 2s"), "{}", end.content());
    assert!(end.content().contains("last look: `response.state == 'done'` was false"), "{}", end.content());
    h.finish().await
}

#[tokio::test]
async fn a_build_followed_across_a_restart_resumes_its_poll_without_triggering_again() -> TestResult {
    let jenkins = standins::jenkins::start(Outcome::Succeeds).await?;
    let r = super::recipes::recipe("jenkins-build.yaml", &[("JENKINS_API_TOKEN", standins::jenkins::API_TOKEN)])?;
    let mut h = Harness::start_with_files(WebhookReceiver::start().await?, &[("jenkins-build.yaml", &r.text)]).await?;
    let inputs = format!("jenkins={} job=app version=1.4.0", jenkins.tool.base);
    let created = h.slash(&alice(), "create", &[("process", "jenkins-build"), ("name", "Build 7"), ("inputs", &inputs)]).await?;
    let id = created.release_id().unwrap_or_default();
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    h.wait_for_audit(&id, "webhook_following").await?;
    h.stop_bot().await?;
    let before = jenkins.tool.seen().len();
    h.start_bot().await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "** shipped.").await?;
    let seen = jenkins.tool.seen();
    assert!(seen.len() > before, "the poll went on after the restart");
    assert_eq!(seen.iter().filter(|s| s.method == "POST").count(), 1, "the build was triggered once");
    h.finish().await
}
