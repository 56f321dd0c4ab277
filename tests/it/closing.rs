//! Messages that ask people for something close when nobody needs the answer any more: their
//! buttons give way to one disabled button saying why.

use super::harness::*;
use trainmaster::sandbox::receiver::{Answer, WebhookReceiver};
use trainmaster::sandbox::{StoredMessage, CHANNEL_ID};

/// An approval and a manual task open side by side, then a webhook that may fail.
fn parallel(receiver: &WebhookReceiver, approval_extra: &str) -> String {
    format!(
        r#"name: side
notices: {{ channel: "{CHANNEL_ID}" }}
phases:
  - id: gate
    activities:
      - {{ id: sign-off, depends_on: [], approval: {{ approvers: ["role:QA"]{approval_extra} }} }}
      - {{ id: checklist, depends_on: [], manual: {{ checklist: "Dashboards green" }} }}
      - {{ id: smoke, depends_on: [], webhook: {{ url: "{}" }} }}
"#,
        receiver.url("/smoke")
    )
}

async fn started(h: &Harness) -> anyhow::Result<(String, StoredMessage, StoredMessage)> {
    let created = h.slash(&alice(), "create", &[("process", "side"), ("name", "Side 1"), ("inputs", "")]).await?;
    let id = created.release_id().ok_or_else(|| anyhow::anyhow!("{}", created.text()))?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    let approval = h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `sign-off` needed").await?;
    let task = h.sandbox.wait_for_thread_message(CHANNEL_ID, "Task `checklist`").await?;
    Ok((id, approval, task))
}

async fn closed_as(h: &Harness, message: &StoredMessage, why: &str) -> anyhow::Result<()> {
    let edited = h.sandbox.wait_for_edit(message.id, why, |m| m.disabled_buttons() == [why.to_string()]).await?;
    anyhow::ensure!(edited.buttons().len() == 1, "one button, disabled: {:?}", edited.buttons());
    Ok(())
}

#[tokio::test]
async fn aborting_closes_open_approval_requests_and_manual_tasks_saying_who_aborted() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    receiver.answer_by_default(Answer::Hang(std::time::Duration::from_secs(20)));
    let process = parallel(&receiver, "");
    let h = Harness::start_with(receiver, &process).await?;
    let (id, approval, task) = started(&h).await?;
    h.slash(&alice(), "abort", &[("release", &id), ("reason", "wrong build")]).await?;
    closed_as(&h, &approval, "Release aborted by alice").await?;
    closed_as(&h, &task, "Release aborted by alice").await?;
    let late = h.sandbox.click_label(&bob(), &approval, "Approve").await?;
    assert!(late.ephemeral(), "a client still showing the old buttons is told: {}", late.text());
    h.finish().await
}

#[tokio::test]
async fn a_failure_elsewhere_closes_the_requests_as_not_needed() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    receiver.answer_by_default(Answer::Status(500));
    let process = parallel(&receiver, "");
    let h = Harness::start_with(receiver, &process).await?;
    let (_, approval, task) = started(&h).await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "** failed: ").await?;
    closed_as(&h, &approval, "Not needed: the release failed").await?;
    closed_as(&h, &task, "Not needed: the release failed").await?;
    h.finish().await
}

#[tokio::test]
async fn an_expired_approval_closes_its_request_as_expired() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    receiver.answer_by_default(Answer::Hang(std::time::Duration::from_secs(20)));
    let process = parallel(&receiver, ", expires_after: 1h");
    let mut h = Harness::start_with(receiver, &process).await?;
    let (_, approval, task) = started(&h).await?;
    h.stop_bot().await?;
    h.make_due("/expire-1").await?;
    h.start_bot().await?;
    closed_as(&h, &approval, "Expired").await?;
    // The release failed with the expiry, so the task is not needed either.
    closed_as(&h, &task, "Not needed: the release failed").await?;
    h.finish().await
}

#[tokio::test]
async fn a_task_marked_done_shows_who_did_it_instead_of_its_button() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    receiver.answer_by_default(Answer::Hang(std::time::Duration::from_secs(20)));
    let process = parallel(&receiver, "");
    let h = Harness::start_with(receiver, &process).await?;
    let (_, _, task) = started(&h).await?;
    h.sandbox.click_label(&alice(), &task, "Mark done").await?;
    closed_as(&h, &task, "Done by alice").await?;
    h.finish().await
}
