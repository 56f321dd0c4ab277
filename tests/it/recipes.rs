//! The recipes in `recipes/` run end to end against local stand-ins of GitHub Actions, GitLab CI,
//! Jenkins and Argo CD: created and started in chat, the request sent with the secret, the run
//! followed to its end, and the outcome (with the tool's own words on failure) in the channel.

use super::harness::*;
use super::standins::{self, Outcome};
use std::io::Write;
use std::sync::{Arc, Mutex};
use trainmaster::sandbox::receiver::WebhookReceiver;
use trainmaster::sandbox::{StoredMessage, CHANNEL_ID};

/// A recipe as a team would deploy it, with three test-only changes: its notices go to the
/// sandbox's channel, its secrets are read from files the test wrote (environment variables
/// are process-wide and tests run in parallel), and polls look every second.
pub struct Recipe {
    pub text: String,
    _secrets: tempfile::TempDir,
}

pub fn recipe(file: &str, secrets: &[(&str, &str)]) -> anyhow::Result<Recipe> {
    let mut text = std::fs::read_to_string(format!("{}/recipes/{file}", env!("CARGO_MANIFEST_DIR")))?;
    text = text.replace("123456789012345678", &CHANNEL_ID.to_string());
    let dir = tempfile::tempdir()?;
    for (variable, value) in secrets {
        let path = dir.path().join(variable);
        std::fs::write(&path, format!("{value}\n"))?;
        text = text.replace(&format!("\"env:{variable}\""), &format!("\"file:{}\"", path.display()));
    }
    for interval in ["5s", "10s", "15s"] {
        text = text.replace(&format!("interval: {interval}"), "interval: 1s");
    }
    Ok(Recipe { text, _secrets: dir })
}

/// Creates and starts a release of `process` as alice; waits for its end in the channel.
async fn run(h: &Harness, process: &str, inputs: &str) -> anyhow::Result<(String, StoredMessage)> {
    let created = h.slash(&alice(), "create", &[("process", process), ("name", "Week 49"), ("inputs", inputs)]).await?;
    let id = created.release_id().ok_or_else(|| anyhow::anyhow!("not created: {}", created.text()))?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    let end = h.sandbox.wait_for_message(CHANNEL_ID, "· Week 49** ").await?;
    Ok((id, end))
}

/// Every log line the bot writes. Installed once as the test binary's global subscriber: a
/// thread-local one misses events whose callsites other tests' threads cached as uninteresting.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

fn captured_logs() -> &'static Logs {
    static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("trainmaster=trace,reqwest=trace,info"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        // Another test may have installed one first; then nothing is captured and the check
        // below says so.
        let _ = tracing::subscriber::set_global_default(subscriber);
        logs
    })
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

/// Whether `needle` is anywhere in the database's files (the WAL included).
fn database_contains(h: &Harness, needle: &str) -> anyhow::Result<bool> {
    let db = h.database();
    for path in [db.clone(), db.with_extension("db-wal")] {
        if let Ok(bytes) = std::fs::read(&path) {
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

#[tokio::test]
async fn a_github_actions_workflow_is_dispatched_found_and_followed_to_success_and_its_token_appears_nowhere_else() -> TestResult {
    let logs = captured_logs();

    let github = standins::github::start(Outcome::Succeeds).await?;
    let r = recipe("github-actions.yaml", &[("GITHUB_TOKEN", standins::github::TOKEN)])?;
    let mut h = Harness::start_with_files(WebhookReceiver::start().await?, &[("github-actions.yaml", &r.text)]).await?;
    let inputs = format!("repository=acme/shop workflow=deploy.yml version=1.4.0 api={}", github.tool.base);
    let (id, end) = run(&h, "github-actions", &inputs).await?;
    assert!(end.content().contains("** shipped."), "{}", end.content());
    assert!(
        end.text().contains("run_url: https://github.com/acme/shop/actions/runs/9000"),
        "proof of delivery links the run: {}",
        end.text()
    );
    let link = h.sandbox.wait_for_thread_message(CHANNEL_ID, "🔗").await?;
    assert!(link.content().contains("`workflow` run_url: <https://github.com/acme/shop/actions/runs/9000>"), "{}", link.content());

    let seen = github.tool.seen();
    let dispatch = seen.iter().find(|s| s.method == "POST").ok_or_else(|| anyhow::anyhow!("no dispatch: {seen:#?}"))?;
    let key = h.key(&id, "workflow", 1).await?;
    assert_eq!(dispatch.target, "/repos/acme/shop/actions/workflows/deploy.yml/dispatches");
    let body: serde_json::Value = serde_json::from_str(&dispatch.body)?;
    assert_eq!(
        body,
        serde_json::json!({"ref": "main", "inputs": {"version": "1.4.0", "trainmaster_run": key}}),
        "exactly the rendered body"
    );
    assert_eq!(dispatch.header("authorization"), Some(format!("Bearer {}", standins::github::TOKEN).as_str()));
    assert!(seen.iter().all(|s| s.header("authorization").is_some()), "every poll authenticates too");
    assert!(seen.iter().any(|s| s.target.ends_with("/runs?event=workflow_dispatch&per_page=50")), "the run was looked up");

    let token = standins::github::TOKEN;
    h.stop_bot().await?;
    assert!(database_contains(&h, &key)?, "the scan reads what the bot stored");
    assert!(!database_contains(&h, token)?, "the token is not in the database");
    let logged = logs.text();
    assert!(
        !logged.contains(token),
        "the token is not in the logs: {}",
        logged.lines().filter(|l| l.contains(token)).collect::<Vec<_>>().join("\n")
    );
    assert!(logged.contains("trainmaster"), "the capture sees the bot's logs: {} bytes", logged.len());
    let discord = serde_json::to_string(&h.sandbox.requests().iter().map(|r| &r.body).collect::<Vec<_>>())?;
    assert!(!discord.contains(token), "the token is not in anything posted to Discord");
    h.finish().await
}

#[tokio::test]
async fn a_failed_github_actions_run_fails_the_release_with_its_conclusion_and_link() -> TestResult {
    let github = standins::github::start(Outcome::Fails).await?;
    let r = recipe("github-actions.yaml", &[("GITHUB_TOKEN", standins::github::TOKEN)])?;
    let h = Harness::start_with_files(WebhookReceiver::start().await?, &[("github-actions.yaml", &r.text)]).await?;
    let inputs = format!("repository=acme/shop workflow=deploy.yml version=1.4.0 api={}", github.tool.base);
    let (_, end) = run(&h, "github-actions", &inputs).await?;
    assert!(end.content().contains("** failed: "), "{}", end.content());
    assert!(end.content().contains("workflow run https://github.com/acme/shop/actions/runs/9000 concluded failure"), "{}", end.content());
    h.finish().await
}

#[tokio::test]
async fn a_gitlab_pipeline_is_triggered_and_followed_to_success() -> TestResult {
    let gitlab = standins::gitlab::start(Outcome::Succeeds).await?;
    let secrets = [("GITLAB_TRIGGER_TOKEN", standins::gitlab::TRIGGER_TOKEN), ("GITLAB_READ_TOKEN", standins::gitlab::READ_TOKEN)];
    let r = recipe("gitlab-pipeline.yaml", &secrets)?;
    let h = Harness::start_with_files(WebhookReceiver::start().await?, &[("gitlab-pipeline.yaml", &r.text)]).await?;
    let inputs = format!("project=42 version=1.4.0 api={}/api/v4", gitlab.tool.base);
    let (_, end) = run(&h, "gitlab-pipeline", &inputs).await?;
    assert!(end.content().contains("** shipped."), "{}", end.content());
    assert!(end.text().contains("pipeline_url: https://gitlab.example.com/group/app/-/pipelines/1"), "{}", end.text());
    let seen = gitlab.tool.seen();
    let polls: Vec<_> = seen.iter().filter(|s| s.method == "GET").collect();
    assert_eq!(polls.len(), 3, "pending, running, success: {seen:#?}");
    assert!(polls
        .iter()
        .all(|p| p.target == "/api/v4/projects/42/pipelines/1" && p.header("private-token") == Some(standins::gitlab::READ_TOKEN)));
    h.finish().await
}

#[tokio::test]
async fn a_failed_gitlab_pipeline_fails_the_release_with_its_status() -> TestResult {
    let gitlab = standins::gitlab::start(Outcome::Fails).await?;
    let secrets = [("GITLAB_TRIGGER_TOKEN", standins::gitlab::TRIGGER_TOKEN), ("GITLAB_READ_TOKEN", standins::gitlab::READ_TOKEN)];
    let r = recipe("gitlab-pipeline.yaml", &secrets)?;
    let h = Harness::start_with_files(WebhookReceiver::start().await?, &[("gitlab-pipeline.yaml", &r.text)]).await?;
    let (_, end) = run(&h, "gitlab-pipeline", &format!("project=42 version=1.4.0 api={}/api/v4", gitlab.tool.base)).await?;
    assert!(end.content().contains("pipeline https://gitlab.example.com/group/app/-/pipelines/1 ended failed"), "{}", end.content());
    h.finish().await
}

#[tokio::test]
async fn a_jenkins_build_is_followed_from_its_queue_item_to_success() -> TestResult {
    let jenkins = standins::jenkins::start(Outcome::Succeeds).await?;
    let r = recipe("jenkins-build.yaml", &[("JENKINS_API_TOKEN", standins::jenkins::API_TOKEN)])?;
    let h = Harness::start_with_files(WebhookReceiver::start().await?, &[("jenkins-build.yaml", &r.text)]).await?;
    let inputs = format!("jenkins={} job=app version=1.4.0", jenkins.tool.base);
    let (id, end) = run(&h, "jenkins-build", &inputs).await?;
    assert!(end.content().contains("** shipped."), "{}", end.content());
    assert!(end.text().contains(&format!("build_url: {}/job/app/1/", jenkins.tool.base)), "{}", end.text());
    let seen = jenkins.tool.seen();
    let key = h.key(&id, "job", 1).await?;
    let query: String =
        url::form_urlencoded::Serializer::new(String::new()).append_pair("TRAINMASTER_RUN", &key).append_pair("VERSION", "1.4.0").finish();
    assert_eq!(seen[0].target, format!("/job/app/buildWithParameters?{query}"), "parameters go in the query");
    assert_eq!(
        seen.iter().map(|s| s.target.as_str()).skip(1).collect::<Vec<_>>(),
        ["/queue/item/1/api/json", "/queue/item/1/api/json", "/job/app/1/api/json", "/job/app/1/api/json"]
    );
    h.finish().await
}

#[tokio::test]
async fn a_failed_jenkins_build_fails_the_release_with_its_result() -> TestResult {
    let jenkins = standins::jenkins::start(Outcome::Fails).await?;
    let r = recipe("jenkins-build.yaml", &[("JENKINS_API_TOKEN", standins::jenkins::API_TOKEN)])?;
    let h = Harness::start_with_files(WebhookReceiver::start().await?, &[("jenkins-build.yaml", &r.text)]).await?;
    let (_, end) = run(&h, "jenkins-build", &format!("jenkins={} job=app version=1.4.0", jenkins.tool.base)).await?;
    assert!(end.content().contains(&format!("build {}/job/app/1/ ended FAILURE", jenkins.tool.base)), "{}", end.content());
    h.finish().await
}

#[tokio::test]
async fn an_argo_cd_application_is_synced_and_followed_until_healthy() -> TestResult {
    let argo = standins::argocd::start(Outcome::Succeeds).await?;
    let r = recipe("argocd-sync.yaml", &[("ARGOCD_TOKEN", standins::argocd::TOKEN)])?;
    let h = Harness::start_with_files(WebhookReceiver::start().await?, &[("argocd-sync.yaml", &r.text)]).await?;
    let (_, end) = run(&h, "argocd-sync", &format!("server={} app=shop revision=v1.4.0", argo.tool.base)).await?;
    assert!(end.content().contains("** shipped."), "{}", end.content());
    let seen = argo.tool.seen();
    assert_eq!(seen[0].body, r#"{"prune":false,"revision":"v1.4.0"}"#);
    assert!(seen.iter().all(|s| s.header("authorization") == Some(format!("Bearer {}", standins::argocd::TOKEN).as_str())));
    h.finish().await
}

#[tokio::test]
async fn a_degraded_argo_cd_sync_fails_the_release_with_argos_message() -> TestResult {
    let argo = standins::argocd::start(Outcome::Fails).await?;
    let r = recipe("argocd-sync.yaml", &[("ARGOCD_TOKEN", standins::argocd::TOKEN)])?;
    let h = Harness::start_with_files(WebhookReceiver::start().await?, &[("argocd-sync.yaml", &r.text)]).await?;
    let (_, end) = run(&h, "argocd-sync", &format!("server={} app=shop", argo.tool.base)).await?;
    assert!(end.content().contains("sync Failed (one or more objects failed to apply"), "{}", end.content());
    assert!(end.content().contains("health Degraded"), "{}", end.content());
    h.finish().await
}
