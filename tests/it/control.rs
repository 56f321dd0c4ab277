//! `/release hold|resume|abort|retry|skip`, through the sandbox, and commands racing each other.

use super::harness::*;
use trainmaster::sandbox::receiver::Answer;
use trainmaster::sandbox::CHANNEL_ID;

#[tokio::test]
async fn a_held_release_refuses_decisions_until_it_is_resumed() -> TestResult {
    let h = Harness::start().await?;
    let (id, approval) = h.start_until_approval().await?;
    let held = h.slash(&alice(), "hold", &[("release", &id), ("reason", "payments freeze until 15:00")]).await?;
    assert!(held.ephemeral());
    assert_eq!(held.state().as_deref(), Some("On hold"));
    let notice = h.sandbox.wait_for_thread_message(CHANNEL_ID, "On hold by ").await?;
    assert!(notice.content().contains("payments freeze until 15:00"), "{}", notice.content());

    let refused = h.sandbox.click_label(&bob(), &approval, "Approve").await?;
    assert!(refused.ephemeral() && refused.text().contains("on hold with its release"), "{}", refused.text());

    h.slash(&alice(), "resume", &[("release", &id)]).await?;
    h.sandbox.wait_for_thread_message(CHANNEL_ID, "Resumed by alice").await?;
    h.sandbox.click_label(&bob(), &approval, "Approve").await?;
    h.sandbox.click_label(&carol(), &approval, "Approve").await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "** shipped.").await?;
    let trail = actions(&h.audit(&id).await?);
    assert!(trail.contains(&"release_held".to_string()) && trail.contains(&"release_resumed".to_string()), "{trail:?}");
    h.finish().await
}

#[tokio::test]
async fn only_the_creator_or_release_manager_may_abort_and_must_say_why() -> TestResult {
    let h = Harness::start().await?;
    let (id, _) = h.start_until_approval().await?;
    let refused = h.slash(&dave(), "abort", &[("release", &id), ("reason", "not mine")]).await?;
    assert!(refused.ephemeral());
    assert_eq!(refused.text(), "Holding, resuming, aborting, retrying or skipping is for the release's creator.");
    let blank = h.slash(&alice(), "abort", &[("release", &id), ("reason", "   ")]).await?;
    assert!(blank.text().contains("Say why: a reason is required"), "{}", blank.text());

    let aborted = h.slash(&alice(), "abort", &[("release", &id), ("reason", "wrong branch cut")]).await?;
    assert_eq!(aborted.state().as_deref(), Some("Aborted"));
    let finished = h.sandbox.wait_for_message(CHANNEL_ID, "** aborted by ").await?;
    assert!(finished.content().contains("aborted by alice: wrong branch cut"), "{}", finished.content());
    let row = h.wait_for_audit(&id, "release_aborted").await?;
    assert_eq!(row.detail["reason"], "wrong branch cut");
    h.finish().await
}

#[tokio::test]
async fn retry_runs_a_failed_webhook_again_under_a_new_key_and_the_release_goes_on() -> TestResult {
    let h = Harness::start().await?;
    h.receiver.script(&[Answer::Status(500), Answer::Status(500)]);
    let id = h.create(VALID_INPUTS).await?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "** failed: ").await?;

    let not_failed = h.slash(&alice(), "retry", &[("release", &id), ("activity", "qa-approval")]).await?;
    assert!(not_failed.text().contains("`qa-approval` is not started; only a failed activity can be retried"), "{}", not_failed.text());
    let retried = h.slash(&alice(), "retry", &[("release", &id), ("activity", "branch-cut")]).await?;
    assert_eq!(retried.state().as_deref(), Some("Running"));
    h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `qa-approval` needed").await?;
    let calls = h.receiver.calls();
    let keys: Vec<String> = calls.iter().filter_map(|c| c.idempotency_key.clone()).collect();
    let (first_run, second_run) = (h.key(&id, "branch-cut", 1).await?, h.key(&id, "branch-cut", 3).await?);
    assert_eq!(keys, [first_run.clone(), first_run, second_run], "the automatic retry keeps the run's key; a person's retry is new work");
    assert_eq!(calls.iter().map(|c| c.attempt).collect::<Vec<_>>(), [Some(1), Some(2), Some(3)], "tries are counted in their own header");
    h.finish().await
}

#[tokio::test]
async fn skip_continues_past_a_failed_activity_and_the_release_ends_partial_success() -> TestResult {
    let h = Harness::start().await?;
    h.receiver.script(&[Answer::Status(500), Answer::Status(500)]);
    let id = h.create(VALID_INPUTS).await?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "** failed: ").await?;
    h.slash(&alice(), "skip", &[("release", &id), ("activity", "branch-cut"), ("reason", "branch cut by hand")]).await?;
    let approval = h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `qa-approval` needed").await?;
    h.sandbox.click_label(&bob(), &approval, "Approve").await?;
    h.sandbox.click_label(&carol(), &approval, "Approve").await?;
    let end = h.sandbox.wait_for_message(CHANNEL_ID, "** partly shipped.").await?;
    assert!(end.content().contains("Did not succeed: `branch-cut` (skipped by alice: branch cut by hand)"), "{}", end.content());
    let thread = h.sandbox.threads(CHANNEL_ID);
    let log: Vec<String> = h.sandbox.messages(thread[0]).iter().map(|m| m.content().to_string()).collect();
    assert!(log.iter().any(|l| l == "⏭️ alice skipped `branch-cut`: branch cut by hand. The release goes on."), "{log:#?}");
    assert!(!log.iter().any(|l| l.contains("Resumed")), "a skip is not a resume: {log:#?}");
    let skipped = h.wait_for_audit(&id, "activity_skipped").await?;
    assert_eq!(skipped.detail["reason"], "branch cut by hand");
    h.finish().await
}

/// Hold and approve at the same instant: whichever commits first wins, and the other sees its
/// result. Either the approval counted and the release is then held, or the hold came first and
/// the approval was refused (and audited as refused). Never both or neither.
#[tokio::test]
async fn hold_and_approve_at_the_same_instant_leave_a_consistent_release() -> TestResult {
    let h = Harness::start().await?;
    let (id, approval) = h.start_until_approval().await?;
    let (alice, bob) = (alice(), bob());
    let hold_args = [("release", id.as_str()), ("reason", "race")];
    let (hold, approve) = tokio::join!(h.slash(&alice, "hold", &hold_args), h.sandbox.click_label(&bob, &approval, "Approve"));
    assert_eq!(hold?.state().as_deref(), Some("On hold"));
    let approve = approve?;
    let trail = actions(&h.audit(&id).await?);
    let counted = trail.iter().filter(|a| *a == "approval_given").count();
    let refused = trail.iter().filter(|a| *a == "approval_refused").count();
    assert_eq!(counted + refused, 1, "the click is either counted or refused: {trail:?}\n{}", approve.text());
    let status = h.slash(&dave(), "status", &[("release", &id)]).await?;
    assert_eq!(status.state().as_deref(), Some("On hold"));
    assert!(h.store().await?.verify_audit().await?.is_ok(), "the audit chain has no gap");
    h.finish().await
}

#[tokio::test]
async fn two_retries_at_the_same_instant_start_one_new_try() -> TestResult {
    let h = Harness::start().await?;
    h.receiver.script(&[Answer::Status(500), Answer::Status(500)]);
    let id = h.create(VALID_INPUTS).await?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "** failed: ").await?;
    let args = [("release", id.as_str()), ("activity", "branch-cut")];
    let alice = alice();
    let (first, second) = tokio::join!(h.slash(&alice, "retry", &args), h.slash(&alice, "retry", &args));
    let answers = [first?.text(), second?.text()];
    assert_eq!(answers.iter().filter(|t| t.contains("only a failed activity can be retried")).count(), 1, "{answers:#?}");
    h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `qa-approval` needed").await?;
    let retries = actions(&h.audit(&id).await?).into_iter().filter(|a| a == "activity_retried").count();
    assert_eq!(retries, 1);
    let keys: Vec<String> = h.receiver.calls().into_iter().filter_map(|c| c.idempotency_key).collect();
    assert_eq!(keys.last(), Some(&h.key(&id, "branch-cut", 3).await?), "{keys:?}");
    assert_eq!(keys.len(), 3, "one new try: {keys:?}");
    h.finish().await
}

#[tokio::test]
async fn a_draft_can_be_edited_and_deleted_and_a_started_release_cannot() -> TestResult {
    let h = Harness::start().await?;
    let id = h.create(VALID_INPUTS).await?;
    let edited = h.slash(&alice(), "edit", &[("release", &id), ("name", "Week 48"), ("inputs", "version=1.5.0")]).await?;
    assert!(edited.ephemeral());
    assert!(
        edited.text().contains("Week 48") && edited.text().contains("1.5.0") && edited.text().contains("api, web"),
        "{}",
        edited.text()
    );
    let bad = h.slash(&alice(), "edit", &[("release", &id), ("inputs", "version=one")]).await?;
    assert!(bad.text().contains("does not match the pattern"), "{}", bad.text());
    let nothing = h.slash(&alice(), "edit", &[("release", &id)]).await?;
    assert!(nothing.text().contains("Nothing to change"), "{}", nothing.text());
    let row = h.wait_for_audit(&id, "release_edited").await?;
    assert_eq!((row.detail["before"]["name"].as_str(), row.detail["after"]["name"].as_str()), (Some("Week 47"), Some("Week 48")));

    let refused = h.slash(&dave(), "delete", &[("release", &id)]).await?;
    assert_eq!(refused.text(), "Deleting a release is for the release's creator.");
    let deleted = h.slash(&alice(), "delete", &[("release", &id)]).await?;
    assert!(deleted.text().contains(&format!("Deleted Draft release {id} · Week 48")), "{}", deleted.text());
    let gone = h.slash(&alice(), "status", &[("release", &id)]).await?;
    assert!(gone.text().contains("There is no release"), "{}", gone.text());
    assert!(actions(&h.audit(&id).await?).contains(&"release_deleted".to_string()), "the trail keeps the deletion");

    let (running, _) = h.start_until_approval().await?;
    let refused = h.slash(&alice(), "delete", &[("release", &running)]).await?;
    assert!(refused.text().contains("is running; only a draft release can be deleted"), "{}", refused.text());
    let refused = h.slash(&alice(), "edit", &[("release", &running), ("name", "x")]).await?;
    assert!(refused.text().contains("only a draft release can be edited"), "{}", refused.text());
    assert!(h.store().await?.verify_audit().await?.is_ok());
    h.finish().await
}

#[tokio::test]
async fn retrying_a_rejected_approval_opens_a_new_round_of_decisions() -> TestResult {
    let h = Harness::start().await?;
    let (id, approval) = h.start_until_approval().await?;
    let form = h.sandbox.click_label(&bob(), &approval, "Reject").await?;
    h.sandbox.submit_modal(&bob(), &form, &[("reason", "Not yet")]).await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "** failed: ").await?;
    h.slash(&alice(), "retry", &[("release", &id), ("activity", "qa-approval")]).await?;
    let again = h.sandbox.wait_for_nth_thread_message(CHANNEL_ID, "Approval `qa-approval` needed", 2).await?;
    let counted = h.sandbox.click_label(&bob(), &again, "Approve").await?;
    assert!(counted.text().contains("Approval counted: 1 of 2"), "bob decides afresh: {}", counted.text());
    h.sandbox.click_label(&carol(), &again, "Approve").await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "** shipped.").await?;
    h.finish().await
}
