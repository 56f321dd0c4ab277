//! `/process list|show|check`, input sets, and DAG processes, through the sandbox.

use super::harness::*;
use trainmaster::sandbox::receiver::WebhookReceiver;
use trainmaster::sandbox::CHANNEL_ID;

const EXAMPLES: [(&str, &str); 4] = [
    ("weekly-production.yaml", include_str!("../../processes/weekly-production.yaml")),
    ("hotfix.yaml", include_str!("../../processes/hotfix.yaml")),
    ("system-release-train.yaml", include_str!("../../processes/system-release-train.yaml")),
    ("microservices.yaml", include_str!("../../processes/microservices.yaml")),
];

/// Phases `left` and `right` are independent; `join` waits for both and posts a notice.
fn dag_process(receiver: &WebhookReceiver) -> String {
    format!(
        r#"name: fan-out
inputs:
  version: {{ type: string, required: true }}
  region: {{ type: choice, options: [eu, us], required: true }}
input_sets:
  europe: {{ region: eu, version: 0.0.1 }}
notices: {{ channel: "{CHANNEL_ID}" }}
phases:
  - id: left
    activities:
      - {{ id: build-left, webhook: {{ url: "{}" }} }}
  - id: right
    depends_on: []
    activities:
      - {{ id: build-right, webhook: {{ url: "{}" }} }}
  - id: join
    depends_on: [left, right]
    activities:
      - {{ id: skip-me, when: "inputs.region == 'us'", webhook: {{ url: "{}" }} }}
      - {{ id: shout, notice: {{ message: "fan-out {{{{ inputs.version }}}} in {{{{ inputs.region }}}} is done" }} }}
"#,
        receiver.url("/left"),
        receiver.url("/right"),
        receiver.url("/us-only")
    )
}

async fn examples_harness() -> anyhow::Result<Harness> {
    let receiver = WebhookReceiver::start().await?;
    let shop = shop_process(&receiver);
    let mut files: Vec<(&str, &str)> = EXAMPLES.to_vec();
    files.push(("shop.yaml", &shop));
    Harness::start_with_files(receiver, &files).await
}

#[tokio::test]
async fn process_list_names_every_loaded_process_only_to_the_asker() -> TestResult {
    let h = examples_harness().await?;
    let reply = h.sandbox.slash(&dave(), "process", "list", &[]).await?;
    assert!(reply.ephemeral());
    for name in ["weekly-production", "hotfix", "system-release-train", "microservices", "shop"] {
        assert!(reply.text().contains(&format!("`{name}`")), "{name} missing from {}", reply.text());
    }
    assert!(reply.text().contains("`hotfix` (hotfix, 3 phases)"), "{}", reply.text());
    h.finish().await
}

#[tokio::test]
async fn process_show_gives_phases_with_their_dependencies_and_the_inputs() -> TestResult {
    let h = examples_harness().await?;
    let reply = h.sandbox.slash(&dave(), "process", "show", &[("process", "microservices")]).await?;
    assert!(reply.ephemeral());
    let text = reply.text();
    for expected in [
        "Process microservices",
        "time zone America/New_York",
        "**service-b** (after service-a) · @Team B",
        "Stakeholders: @Support",
        "**final-verification** (after db-migration, regression)",
        "`canary-a` check every 1m",
        "`dba-approval` approval: 1 approval from @DBA",
        "**rollback**: `revert-services`, `revert-migration`, `tell-support`",
    ] {
        assert!(text.contains(expected), "no {expected:?} in\n{text}");
    }
    assert!(reply.field("Inputs").is_some_and(|f| f.contains("`environment` choice of staging, prod, default `prod`")), "{text}");
    let train = h.sandbox.slash(&alice(), "process", "show", &[("process", "system-release-train")]).await?;
    assert!(
        train.text().contains("approval: qa: 2 approvals from <@&400000000000000002> → go-live: 2 approvals, at least 1 from <@&400000000000000001> and 1 from <@&400000000000000004>; expires after 2d"),
        "{}",
        train.text()
    );
    assert!(reply.field("Input sets").is_some_and(|f| f.contains("`staging-dry-run`: environment")), "{text}");
    // The cadence in words, with the next three trains.
    let plan = train.field("Plan").unwrap_or_default();
    assert!(plan.contains("Release group: At 09:00") && plan.matches("<t:").count() == 3, "{plan}");
    assert!(plan.contains("Keeps 2 planned ahead") && plan.contains("Advance shipping notice 1d before"), "{plan}");

    let unknown = h.sandbox.slash(&dave(), "process", "show", &[("process", "microservice")]).await?;
    assert!(unknown.ephemeral());
    assert!(unknown.text().contains("There is no process `microservice`; known processes:"), "{}", unknown.text());
    h.finish().await
}

#[tokio::test]
async fn process_check_answers_an_uploaded_file_with_the_cli_messages() -> TestResult {
    let h = examples_harness().await?;
    let good = EXAMPLES[0].1;
    let reply = h.sandbox.slash_with_file(&dave(), "process", "check", "file", "weekly.yaml", good.as_bytes()).await?;
    assert!(reply.ephemeral());
    assert!(reply.text().contains("✅ The file is valid.") && reply.text().contains("ok: weekly-production"), "{}", reply.text());

    let broken = good.replace("    activities:\n      - id: qa-approval", "    activites:\n      - id: qa-approval");
    let reply = h.sandbox.slash_with_file(&dave(), "process", "check", "file", "weekly.yaml", broken.as_bytes()).await?;
    let text = reply.text();
    assert!(text.contains("❌ The file has problems:"), "{text}");
    assert!(text.contains("weekly.yaml:26:5: unknown field `activites`") && text.contains("did you mean `activities`?"), "{text}");

    // A subprocess may name the bot's processes; a missing one is named.
    let child = "name: parent\nnotices: {channel: \"1\"}\nphases:\n  - id: p\n    activities:\n      - { id: run, subprocess: { process: hotfx } }\n";
    let reply = h.sandbox.slash_with_file(&dave(), "process", "check", "file", "parent.yaml", child.as_bytes()).await?;
    assert!(reply.text().contains("parent.yaml:6:") && reply.text().contains("did you mean `hotfix`?"), "{}", reply.text());

    let huge = vec![b'#'; 300 * 1024];
    let reply = h.sandbox.slash_with_file(&dave(), "process", "check", "file", "huge.yaml", &huge).await?;
    assert!(reply.ephemeral());
    assert!(reply.text().contains("`huge.yaml` is 300 KiB; process files may be at most 256 KiB."), "{}", reply.text());

    let binary = [0xff_u8, 0xfe, 0x00, 0x41];
    let reply = h.sandbox.slash_with_file(&dave(), "process", "check", "file", "x.yaml", &binary).await?;
    assert!(reply.text().contains("is not UTF-8 text"), "{}", reply.text());
    h.finish().await
}

#[tokio::test]
async fn independent_phases_start_together_and_a_notice_closes_the_release() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    let process = dag_process(&receiver);
    let h = Harness::start_with_files(receiver, &[("fan-out.yaml", &process)]).await?;
    let reply = h.slash(&alice(), "create", &[("process", "fan-out"), ("name", "Fan"), ("inputs", "version=2.0.0 region=eu")]).await?;
    let id = reply.release_id().unwrap_or_default();
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "fan-out 2.0.0 in eu is done").await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "** shipped.").await?;

    let trail = h.audit(&id).await?;
    let position = |action: &str, key: &str, value: &str| trail.iter().position(|r| r.action == action && r.detail[key] == value);
    let started_right = position("activity_started", "activity", "build-right");
    let finished_left = position("activity_finished", "activity", "build-left");
    assert!(started_right.is_some() && started_right < finished_left, "right starts before left ends: {:?}", actions(&trail));
    let skipped = trail.iter().find(|r| r.action == "activity_finished" && r.detail["activity"] == "skip-me");
    assert_eq!(skipped.map(|r| r.detail["status"].clone()), Some(serde_json::json!("Skipped")));
    let mut paths: Vec<String> = h.receiver.calls().into_iter().map(|c| c.path).collect();
    paths.sort();
    assert_eq!(paths, ["/left", "/right"], "the us-only step never ran");
    h.finish().await
}

#[tokio::test]
async fn an_input_set_fills_inputs_and_given_inputs_win() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    let process = dag_process(&receiver);
    let h = Harness::start_with_files(receiver, &[("fan-out.yaml", &process)]).await?;
    let reply = h
        .slash(&alice(), "create", &[("process", "fan-out"), ("name", "From set"), ("input_set", "europe"), ("inputs", "version=3.1.0")])
        .await?;
    assert!(reply.text().contains("3.1.0") && reply.text().contains("eu"), "{}", reply.text());

    let unknown = h.slash(&alice(), "create", &[("process", "fan-out"), ("name", "x"), ("input_set", "asia")]).await?;
    assert!(unknown.ephemeral());
    assert!(unknown.text().contains("Process `fan-out` has no input set `asia`; it has `europe`"), "{}", unknown.text());
    h.finish().await
}

#[tokio::test]
async fn a_subprocess_runs_a_linked_child_release_and_takes_its_result() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    let child = format!(
        "name: child\ninputs:\n  version: {{ type: string, required: true }}\nnotices: {{ channel: \"{CHANNEL_ID}\" }}\nphases:\n  - id: c\n    activities:\n      - {{ id: deploy-child, webhook: {{ url: \"{}\", body: {{ v: \"{{{{ inputs.version }}}}\" }} }} }}\n",
        receiver.url("/child")
    );
    let parent = format!(
        "name: parent\ninputs:\n  version: {{ type: string, required: true }}\nnotices: {{ channel: \"{CHANNEL_ID}\" }}\nphases:\n  - id: p\n    activities:\n      - {{ id: run-child, subprocess: {{ process: child, inputs: {{ version: \"{{{{ inputs.version }}}}\" }} }} }}\n      - {{ id: after, webhook: {{ url: \"{}\", body: {{ child: \"{{{{ activities['run-child'].status }}}}\" }} }} }}\n",
        receiver.url("/after")
    );
    let h = Harness::start_with_files(receiver, &[("child.yaml", &child), ("parent.yaml", &parent)]).await?;
    let reply = h.slash(&alice(), "create", &[("process", "parent"), ("name", "Parent"), ("inputs", "version=7.1.0")]).await?;
    let id = reply.release_id().unwrap_or_default();
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    h.sandbox.wait_for_message(CHANNEL_ID, &format!("Release {id} · Parent** shipped.")).await?;
    let calls = h.receiver.calls();
    let paths: Vec<&str> = calls.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["/child", "/after"], "the child ran before the parent went on");
    assert_eq!(calls[0].body["body"]["v"], "7.1.0", "the child got its mapped input");
    let started = h.wait_for_audit(&id, "subprocess_started").await?;
    let child_id = started.detail["child_release"].as_i64().unwrap_or_default().to_string();
    let status = h.slash(&dave(), "status", &[("release", &child_id)]).await?;
    assert_eq!(status.state().as_deref(), Some("Shipped"));
    assert!(status.text().contains("Parent › run-child"), "{}", status.text());
    let finished = h.audit(&id).await?.into_iter().find(|r| r.action == "activity_finished" && r.detail["activity"] == "run-child");
    assert_eq!(finished.map(|r| r.detail["status"].clone()), Some(serde_json::json!("Success")));
    h.finish().await
}

#[tokio::test]
async fn a_failed_child_release_fails_its_subprocess_activity_with_the_childs_reason() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    receiver.script(&[trainmaster::sandbox::receiver::Answer::Status(500)]);
    let child = format!(
        "name: child\nnotices: {{ channel: \"{CHANNEL_ID}\" }}\nphases:\n  - id: c\n    activities:\n      - {{ id: deploy-child, webhook: {{ url: \"{}\" }} }}\n",
        receiver.url("/child")
    );
    let parent = format!("name: parent\nnotices: {{ channel: \"{CHANNEL_ID}\" }}\nphases:\n  - id: p\n    activities:\n      - {{ id: run-child, subprocess: {{ process: child }} }}\n");
    let h = Harness::start_with_files(receiver, &[("child.yaml", &child), ("parent.yaml", &parent)]).await?;
    let reply = h.slash(&alice(), "create", &[("process", "parent"), ("name", "Parent")]).await?;
    let id = reply.release_id().unwrap_or_default();
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    let status = loop {
        let status = h.slash(&dave(), "status", &[("release", &id)]).await?;
        if status.state().as_deref() == Some("Failed") {
            break status;
        }
        h.wait_for_audit(&id, "release_finished").await?;
    };
    assert!(status.text().contains("child release") && status.text().contains("ended Failed"), "{}", status.text());
    h.finish().await
}

#[tokio::test]
async fn a_manual_task_is_marked_done_by_its_owner_only() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    let process = format!(
        "name: manual\nnotices: {{ channel: \"{CHANNEL_ID}\" }}\nphases:\n  - id: sign-off\n    owner: \"role:QA\"\n    activities:\n      - {{ id: smoke-by-hand, manual: {{ checklist: \"Open the shop\\nBuy a @everyone sock\" }} }}\n"
    );
    let h = Harness::start_with_files(receiver, &[("manual.yaml", &process)]).await?;
    let reply = h.slash(&alice(), "create", &[("process", "manual"), ("name", "By hand")]).await?;
    let id = reply.release_id().unwrap_or_default();
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    let task = h.sandbox.wait_for_thread_message(CHANNEL_ID, "Task `smoke-by-hand` for <@&400000000000000002>").await?;
    assert!(task.content().contains("☐ Open the shop\n☐ Buy a @\u{200B}everyone sock"), "{}", task.content());
    // The owner's action is needed: the task pings them, and only them.
    assert_eq!(task.content().matches("<@&").count(), 1, "the owner is named once: {}", task.content());
    let posted = h
        .sandbox
        .requests()
        .into_iter()
        .filter_map(|r| r.body)
        .find(|b| b["content"].as_str().is_some_and(|c| c.contains("Task `smoke-by-hand`")));
    let pinged = posted.map(|b| b["allowed_mentions"].clone()).unwrap_or_default();
    assert_eq!(pinged["roles"], serde_json::json!([trainmaster::sandbox::roles::QA.to_string()]), "{pinged}");
    assert_eq!(pinged["parse"], serde_json::json!([]), "{pinged}");
    let refused = h.sandbox.click_label(&dave(), &task, "Mark done").await?;
    assert!(refused.ephemeral());
    assert!(refused.text().contains("Only the task's owner (@QA)"), "{}", refused.text());
    let done = h.sandbox.click_label(&bob(), &task, "Mark done").await?;
    assert!(done.text().contains("Marked done"), "{}", done.text());
    h.sandbox.wait_for_message(CHANNEL_ID, "** shipped.").await?;
    let row = h.wait_for_audit(&id, "manual_task_done").await?;
    assert_eq!(row.actor["name"], "bob", "{row:?}");
    h.finish().await
}

#[tokio::test]
async fn a_wait_survives_a_restart_because_its_timer_is_in_the_database() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    let process = format!(
        "name: soak\nnotices: {{ channel: \"{CHANNEL_ID}\" }}\nphases:\n  - id: bake\n    activities:\n      - {{ id: soak, wait: {{ duration: 2s }} }}\n      - {{ id: ship, webhook: {{ url: \"{}\" }} }}\n",
        receiver.url("/ship")
    );
    let mut h = Harness::start_with_files(receiver, &[("soak.yaml", &process)]).await?;
    let reply = h.slash(&alice(), "create", &[("process", "soak"), ("name", "Soak")]).await?;
    let id = reply.release_id().unwrap_or_default();
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    let waiting = h.wait_for_audit(&id, "activity_waiting").await?;
    assert!(waiting.detail["until"].as_str().is_some(), "{:?}", waiting.detail);
    h.stop_bot().await?;
    assert!(h.receiver.calls().is_empty(), "nothing after the wait ran before it ended");
    h.start_bot().await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "** shipped.").await?;
    let calls = h.receiver.calls();
    assert_eq!(calls.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(), ["/ship"]);
    h.finish().await
}

#[tokio::test]
async fn a_failed_deploy_with_on_failure_rollback_runs_the_rollback_and_says_so() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    let process = format!(
        "name: risky\nnotices: {{ channel: \"{CHANNEL_ID}\" }}\nphases:\n  - id: prod\n    activities:\n      - {{ id: deploy, webhook: {{ url: \"{}\" }}, on_failure: rollback }}\n      - {{ id: after, webhook: {{ url: \"{}\" }} }}\nrollback:\n  activities:\n    - {{ id: revert, webhook: {{ url: \"{}\" }} }}\n",
        receiver.url("/deploy"),
        receiver.url("/after"),
        receiver.url("/revert")
    );
    let h = Harness::start_with_files(receiver, &[("risky.yaml", &process)]).await?;
    h.receiver.script(&[trainmaster::sandbox::receiver::Answer::Status(500)]);
    let reply = h.slash(&alice(), "create", &[("process", "risky"), ("name", "Risky")]).await?;
    let id = reply.release_id().unwrap_or_default();
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    let rolling = h.sandbox.wait_for_thread_message(CHANNEL_ID, "Rolling back").await?;
    assert!(rolling.content().contains("`deploy` failed after 1 try: HTTP 500"), "{}", rolling.content());
    let finished = h.sandbox.wait_for_message(CHANNEL_ID, "** failed: ").await?;
    assert!(finished.content().contains("rolled back"), "{}", finished.content());
    let paths: Vec<String> = h.receiver.calls().into_iter().map(|c| c.path).collect();
    assert_eq!(paths, ["/deploy", "/revert"], "nothing after the failure ran; the rollback did");
    let status = h.slash(&dave(), "status", &[("release", &id)]).await?;
    assert_eq!(status.state().as_deref(), Some("Failed"));
    h.finish().await
}

#[tokio::test]
async fn a_check_gate_polls_its_url_until_the_condition_holds_then_the_release_goes_on() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    receiver.script(&[
        trainmaster::sandbox::receiver::Answer::Json(serde_json::json!({"error_rate": 0.4})),
        trainmaster::sandbox::receiver::Answer::Json(serde_json::json!({"error_rate": 0.001})),
    ]);
    let process = format!(
        "name: gated\nnotices: {{ channel: \"{CHANNEL_ID}\" }}\nphases:\n  - id: p\n    activities:\n      - {{ id: canary, check: {{ url: \"{}\", interval: 1s, condition: \"response.error_rate < 0.01\" }}, timeout: 1m }}\n      - {{ id: ship, webhook: {{ url: \"{}\" }} }}\n",
        receiver.url("/metrics"),
        receiver.url("/ship")
    );
    let h = Harness::start_with_files(receiver, &[("gated.yaml", &process)]).await?;
    let reply = h.slash(&alice(), "create", &[("process", "gated"), ("name", "Gated")]).await?;
    let id = reply.release_id().unwrap_or_default();
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "** shipped.").await?;
    let calls = h.receiver.calls();
    let seen: Vec<(&str, &str)> = calls.iter().map(|c| (c.method.as_str(), c.path.as_str())).collect();
    assert_eq!(seen, [("GET", "/metrics"), ("GET", "/metrics"), ("POST", "/ship")]);
    assert_eq!(calls[1].idempotency_key, Some(format!("{id}/canary/1/poll/2")));
    let passed = h.wait_for_audit(&id, "check_passed").await?;
    assert_eq!(passed.detail["looks"], 2);
    h.finish().await
}

#[tokio::test]
async fn aborting_a_parent_aborts_its_running_child_release() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    let child = format!("name: child\nnotices: {{ channel: \"{CHANNEL_ID}\" }}\nphases:\n  - id: c\n    activities:\n      - {{ id: soak, wait: {{ duration: 1h }} }}\n");
    let parent = format!("name: parent\nnotices: {{ channel: \"{CHANNEL_ID}\" }}\nphases:\n  - id: p\n    activities:\n      - {{ id: run-child, subprocess: {{ process: child }} }}\n");
    let h = Harness::start_with_files(receiver, &[("child.yaml", &child), ("parent.yaml", &parent)]).await?;
    let reply = h.slash(&alice(), "create", &[("process", "parent"), ("name", "Parent")]).await?;
    let id = reply.release_id().unwrap_or_default();
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    let started = h.wait_for_audit(&id, "subprocess_started").await?;
    let child_id = started.detail["child_release"].as_i64().unwrap_or_default().to_string();
    let waiting = h.slash(&dave(), "status", &[("release", &child_id)]).await?;
    assert_eq!(waiting.state().as_deref(), Some("Running"));

    h.slash(&alice(), "abort", &[("release", &id), ("reason", "wrong train")]).await?;
    let child_status = h.slash(&dave(), "status", &[("release", &child_id)]).await?;
    assert_eq!(child_status.state().as_deref(), Some("Aborted"));
    assert!(child_status.text().contains(&format!("its parent release {id} stopped `run-child`")), "{}", child_status.text());
    let parent_trail = actions(&h.audit(&id).await?);
    assert!(!parent_trail.contains(&"stale_result_ignored".to_string()), "{parent_trail:?}");
    h.finish().await
}

#[tokio::test]
async fn a_process_without_notices_posts_where_its_release_was_created_or_in_the_servers_default() -> TestResult {
    use trainmaster::domain::{ChannelId, GuildId};
    use trainmaster::sandbox::{GUILD_ID, OTHER_CHANNEL_ID, OTHER_GUILD_ID};
    let quiet = "name: quiet\nphases:\n  - id: a\n    activities:\n      - { id: task, manual: { checklist: \"Do it\" } }\n";
    let h =
        Harness::start_tweaked(&[("quiet.yaml", quiet)], |s| s.guild_notices = vec![(GuildId(GUILD_ID), ChannelId(CHANNEL_ID))]).await?;
    // Created in chat in the other server's channel: its card and notices go there.
    let other = alice().in_guild(OTHER_GUILD_ID);
    let reply = h.sandbox.slash(&other, "release", "create", &[("process", "quiet"), ("name", "Q1")]).await?;
    let id = reply.release_id().ok_or_else(|| anyhow::anyhow!("no card: {}", reply.text()))?;
    h.sandbox.slash(&other, "release", "start", &[("release", &id)]).await?;
    h.sandbox.wait_for_embed(OTHER_CHANNEL_ID, &format!("Release {id} ")).await?;
    // From CI, with no chat channel: the server's default.
    let body = serde_json::json!({"guild_id": GUILD_ID.to_string(), "process": "quiet", "name": "Q2", "start": true});
    let (status, answer) = post_signed(&h.http_url("/hooks/releases"), TRIGGER_SECRET, "q2", now(), body.to_string().as_bytes()).await?;
    assert_eq!(status, 201, "{answer}");
    h.sandbox.wait_for_embed(CHANNEL_ID, &format!("Release {} ", answer["id"])).await?;
    h.finish().await?;

    // Without a default, CI is told what to do, and nothing is created.
    let h = Harness::start_tweaked(&[("quiet.yaml", quiet)], |_| {}).await?;
    let (status, answer) = post_signed(&h.http_url("/hooks/releases"), TRIGGER_SECRET, "q3", now(), body.to_string().as_bytes()).await?;
    assert_eq!(status, 422, "{answer}");
    assert!(answer["error"].as_str().is_some_and(|e| e.contains("names no notices channel") && e.contains("notices_channel")), "{answer}");
    assert_eq!(h.count_releases().await?, 0);
    h.finish().await
}
