//! `trainmaster demo`: the sandbox, a local webhook receiver and the bot on a temporary database
//! play one release end to end, and the channel is printed as a person would read it.

use crate::app::{Application, Settings};
use crate::engine::Shutdown;
use crate::sandbox::receiver::WebhookReceiver;
use crate::sandbox::{roles, Reply, Sandbox, SandboxUser, CHANNEL_ID, TOKEN};
use crate::webhook::guard::AllowRule;
use anyhow::{anyhow, Context};
use std::fmt::Write as _;

/// The demo's process: the example's shape, with webhooks pointed at the local receiver.
fn demo_process(ci: &str, cd: &str) -> String {
    format!(
        r#"name: demo-release
description: A release played by `trainmaster demo`
inputs:
  version:  {{ type: string, required: true, pattern: '\d+\.\d+\.\d+' }}
  services: {{ type: list, required: true }}
owners: {{ stakeholders: ["role:QA"] }}
notices: {{ channel: "{CHANNEL_ID}", advance: 24h, early_access: "Try it on https://staging.example.com" }}
phases:
  - id: build
    activities:
      - id: branch-cut
        webhook: {{ url: "{ci}", body: {{ version: "{{{{ inputs.version }}}}" }} }}
  - id: qa
    activities:
      - id: qa-approval
        approval: {{ approvers: ["role:QA"], min: 1 }}
  - id: prod
    activities:
      - id: deploy
        webhook: {{ url: "{cd}", body: {{ version: "{{{{ inputs.version }}}}", services: "{{{{ inputs.services | join(',') }}}}" }} }}
"#
    )
}

/// Runs the demo and returns the transcript.
pub async fn run() -> anyhow::Result<String> {
    let sandbox = Sandbox::start().await?;
    let receiver = WebhookReceiver::start().await?;
    let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
    let processes = dir.path().join("processes");
    std::fs::create_dir_all(&processes)?;
    std::fs::write(processes.join("demo-release.yaml"), demo_process(&receiver.url("/ci/branch-cut"), &receiver.url("/cd/deploy")))?;
    let mut settings = Settings::local(TOKEN, Some(sandbox.base_url()), dir.path().join("demo.db"), processes);
    // Real time that can jump ahead: the planned release below is announced and starts without waiting days.
    let clock = crate::domain::clock::ShiftedClock::default();
    settings.clock = std::sync::Arc::new(clock.clone());
    // The demo's receiver is on loopback, which the SSRF guard refuses unless allowed.
    settings.webhook_allow = vec![AllowRule::Net("127.0.0.1/32".parse()?)];
    let app = Application::build(&settings).await?;
    let engine = app.engine().clone();
    let (stop, shutdown) = Shutdown::new();
    let running = tokio::spawn(app.run_until_stopped(shutdown));
    sandbox.wait_ready(1).await?;

    let alice = SandboxUser::new(10, "alice", &[roles::RELEASE_MANAGERS]);
    let bob = SandboxUser::new(11, "bob", &[roles::QA]);
    let mut out = String::new();
    let created = sandbox
        .slash(
            &alice,
            "release",
            "create",
            &[("process", "demo-release"), ("name", "Week 47"), ("inputs", "version=1.4.0 services=api,web")],
        )
        .await?;
    show(&mut out, "alice", "/release create process:demo-release name:Week 47 inputs:version=1.4.0 services=api,web", &created);
    let id = created.release_id().ok_or_else(|| anyhow!("the release card has no id: {}", created.text()))?;
    let started = sandbox.slash(&alice, "release", "start", &[("release", &id)]).await?;
    show(&mut out, "alice", &format!("/release start release:{id}"), &started);
    let approval = sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `qa-approval` needed").await?;
    let clicked = sandbox.click_label(&bob, &approval, "Approve").await?;
    show(&mut out, "bob", "clicks Approve", &clicked);
    sandbox.wait_for_message(CHANNEL_ID, "** shipped.").await?;
    // The card is redrawn at most every 2 s: wait for its last edit.
    let card = sandbox.messages(CHANNEL_ID).into_iter().next().ok_or_else(|| anyhow!("no release card in the channel"))?;
    sandbox.wait_for_edit(card.id, "the card shows it shipped", |m| m.text().contains("— shipped")).await?;

    // Planning: next week's release is scheduled, announced a day ahead, and starts by itself.
    let at = engine.now() + chrono::Duration::days(2);
    let at_text = at.format("%Y-%m-%d %H:%M").to_string();
    let planned = sandbox
        .slash(
            &alice,
            "release",
            "create",
            &[("process", "demo-release"), ("name", "Week 48"), ("inputs", "version=1.5.0 services=api,web"), ("at", &at_text)],
        )
        .await?;
    show(
        &mut out,
        "alice",
        &format!("/release create process:demo-release name:Week 48 inputs:version=1.5.0 services=api,web at:{at_text}"),
        &planned,
    );
    let planned_id = planned.release_id().ok_or_else(|| anyhow!("the planned release has no id: {}", planned.text()))?;
    writeln!(out, "(the clock moves a day ahead: the advance shipping notice is due)")?;
    clock.advance(chrono::Duration::days(1) + chrono::Duration::minutes(1));
    engine.wake_workers();
    let notice = sandbox.wait_for_message(CHANNEL_ID, &format!("Coming up: Release {planned_id}")).await?;
    writeln!(out, "#releases gets the advance shipping notice (pinging @QA, the stakeholders, only):")?;
    transcript(&mut out, std::slice::from_ref(&notice))?;
    writeln!(out, "(the clock moves to the planned time: the release starts by itself, as alice)")?;
    clock.advance(chrono::Duration::days(1));
    engine.wake_workers();
    let second = sandbox.wait_for_nth_thread_message(CHANNEL_ID, "Approval `qa-approval` needed", 2).await?;
    let clicked = sandbox.click_label(&bob, &second, "Approve").await?;
    show(&mut out, "bob", "clicks Approve", &clicked);
    sandbox.wait_for_message(CHANNEL_ID, &format!("Release {planned_id} · Week 48** shipped.")).await?;

    writeln!(out, "\n#releases, as the channel reads (the card is one message, edited in place):")?;
    transcript(&mut out, &sandbox.messages(CHANNEL_ID))?;
    for thread in sandbox.threads(CHANNEL_ID) {
        writeln!(out, "\nIts thread, the release's log:")?;
        transcript(&mut out, &sandbox.messages(thread))?;
    }
    writeln!(out, "\nThe webhook receiver saw:")?;
    for call in receiver.calls() {
        writeln!(out, "  POST {} Idempotency-Key: {} body: {}", call.path, call.idempotency_key.unwrap_or_default(), call.body["body"])?;
    }
    let _ = stop.send(true);
    running.await.context("the bot task failed")??;
    Ok(out)
}

fn show(out: &mut String, who: &str, what: &str, reply: &Reply) {
    let visibility = if reply.ephemeral() { " (only you can see this)" } else { "" };
    let _ = writeln!(out, "{who}: {what}");
    for line in as_discord_shows(reply.text().trim()).lines() {
        let _ = writeln!(out, "  Trainmaster{visibility}: {line}");
    }
}

/// Text as Discord's client shows it: mentions as names, channel links as `#releases`,
/// timestamps as times (UTC here; each reader sees their own).
fn as_discord_shows(text: &str) -> String {
    let mut out = text.to_string();
    for (id, name) in crate::sandbox::roles::ALL {
        out = out.replace(&format!("<@&{id}>"), &format!("@{name}"));
    }
    for (id, name) in [(10, "alice"), (11, "bob")] {
        out = out.replace(&format!("<@{id}>"), &format!("@{name}"));
    }
    out = out.replace(&format!("<#{CHANNEL_ID}>"), "#releases");
    // "<time> (<in 2 days>)" is one time in print, where "in 2 days" would be stale by the time it is read.
    if let Ok(twice) = regex::Regex::new(r"<t:(\d+):F> \(<t:(\d+):R>\)") {
        out = twice
            .replace_all(&out, |c: &regex::Captures<'_>| if c[1] == c[2] { format!("<t:{}:F>", &c[1]) } else { c[0].to_string() })
            .into_owned();
    }
    let Ok(stamp) = regex::Regex::new(r"<t:(-?\d+):(\w)>") else { return out };
    stamp
        .replace_all(&out, |c: &regex::Captures<'_>| {
            let at = c[1].parse::<i64>().ok().and_then(|s| chrono::DateTime::from_timestamp(s, 0));
            let format = if matches!(&c[2], "F" | "f" | "R") { "%a %-d %b %H:%M UTC" } else { "%H:%M UTC" };
            let shown = at.map(|t| t.format(format).to_string()).unwrap_or_else(|| c[0].to_string());
            // Relative ones ("2 minutes ago") read as the time they stand for.
            if &c[2] == "R" {
                format!("at {shown}")
            } else {
                shown
            }
        })
        .into_owned()
}

/// Messages as people read them: text, then buttons; continuation lines indented.
fn transcript(out: &mut String, messages: &[crate::sandbox::StoredMessage]) -> std::fmt::Result {
    for message in messages {
        let buttons: Vec<String> = message.buttons().into_iter().map(|(_, label)| format!("[{label}]")).collect();
        let text = as_discord_shows(message.text().trim_start()).replace('\n', "\n               ");
        writeln!(out, "  Trainmaster: {}", [text, buttons.join(" ")].join(" ").trim_end())?;
    }
    Ok(())
}
