//! Discord's REST errors: 429 and 5xx are retried until the message arrives (once); a 403 is not
//! retried: the release goes on, the trail says what was set aside, and the release manager is
//! told by direct message.

use super::harness::*;
use trainmaster::sandbox::CHANNEL_ID;

fn cards(h: &Harness) -> usize {
    h.sandbox.messages(CHANNEL_ID).iter().filter(|m| m.json["embeds"][0]["title"].as_str().is_some_and(|t| t.contains(" Release "))).count()
}

#[tokio::test]
async fn a_429_and_a_500_from_discord_are_retried_and_the_card_is_posted_once() -> TestResult {
    let h = Harness::start().await?;
    let id = h.create(VALID_INPUTS).await?;
    h.sandbox.fail_next("POST", &format!("/channels/{CHANNEL_ID}/messages"), 429, 1);
    h.sandbox.fail_next("POST", &format!("/channels/{CHANNEL_ID}/messages"), 500, 1);
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    // Whichever posts the refusals hit, the card comes after its retries (notices posted while
    // it waits go to the channel, so the card is the thing to wait for).
    h.sandbox.wait_for_embed(CHANNEL_ID, &format!("Release {id} ")).await?;
    h.receiver.wait_for_calls(1).await?;
    assert_eq!(cards(&h), 1, "retried until posted, and posted once");
    let refused =
        h.sandbox.requests().iter().filter(|r| r.method == "POST" && r.path == format!("/channels/{CHANNEL_ID}/messages")).count();
    assert!(refused >= 3, "two refused tries and the one that worked: {refused}");
    let trail = h.audit(&id).await?;
    assert!(!actions(&trail).contains(&"delivery_set_aside".to_string()), "{:?}", actions(&trail));
    h.finish().await
}

#[tokio::test]
async fn a_403_is_set_aside_the_release_goes_on_and_the_release_manager_is_told_once() -> TestResult {
    let h = Harness::start().await?;
    let id = h.create(VALID_INPUTS).await?;
    // The bot may not post in the channel: the card and the next notices are refused.
    h.sandbox.fail_next("POST", &format!("/channels/{CHANNEL_ID}/messages"), 403, 3);
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    let told = h.wait_for_audit(&id, "delivery_problem_reported").await?;
    assert_eq!(told.detail["to"], 10, "alice created it and the process names no release manager");
    let dms = h.sandbox.direct_messages(10);
    assert_eq!(dms.len(), 1, "told once, not once per refused notice");
    assert!(
        dms[0].content().contains(&format!("could not post in <#{CHANNEL_ID}>")) && dms[0].content().contains("Missing Permissions"),
        "{}",
        dms[0].content()
    );
    h.receiver.wait_for_calls(1).await?;
    // The next redraw posts the card, and the approval request reaches its thread.
    h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `qa-approval` needed").await?;
    let set_aside = h.audit(&id).await?.iter().filter(|r| r.action == "delivery_set_aside").count();
    assert!(set_aside >= 1, "the refused notices are in the trail");
    h.finish().await
}

/// Messages in the channel other than release cards.
fn channel_notices(h: &Harness) -> Vec<String> {
    h.sandbox
        .messages(CHANNEL_ID)
        .iter()
        .filter(|m| !m.json["embeds"][0]["title"].as_str().is_some_and(|t| t.contains(" Release ")))
        .map(|m| m.content().to_string())
        .collect()
}

#[tokio::test]
async fn notices_wait_for_a_card_whose_post_is_retried_and_go_to_its_thread() -> TestResult {
    let h = Harness::start().await?;
    let id = h.create(VALID_INPUTS).await?;
    h.sandbox.fail_next("POST", &format!("/channels/{CHANNEL_ID}/messages"), 429, 1);
    h.sandbox.fail_next("POST", &format!("/channels/{CHANNEL_ID}/messages"), 500, 1);
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `qa-approval` needed").await?;
    assert_eq!(channel_notices(&h), Vec::<String>::new(), "the release's log is all in its thread");
    let thread = h.sandbox.threads(CHANNEL_ID);
    let log: Vec<String> = h.sandbox.messages(thread[0]).iter().map(|m| m.content().to_string()).collect();
    assert!(log.iter().any(|m| m.contains("Started by alice")) && log.iter().any(|m| m.contains("Phase `build` started")), "{log:#?}");
    h.finish().await
}

#[tokio::test]
async fn a_thread_that_fails_to_start_is_started_again_before_the_log_would_fall_back() -> TestResult {
    let h = Harness::start().await?;
    let id = h.create(VALID_INPUTS).await?;
    h.sandbox.fail_next("POST", "/threads", 500, 1);
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `qa-approval` needed").await?;
    assert_eq!(channel_notices(&h), Vec::<String>::new(), "no notice went to the channel");
    h.finish().await
}

#[tokio::test]
async fn a_channel_that_refuses_threads_gets_the_log_and_is_told_once() -> TestResult {
    let h = Harness::start().await?;
    let id = h.create(VALID_INPUTS).await?;
    h.sandbox.fail_next("POST", "/threads", 403, 100);
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "approval `qa-approval` needed").await?;
    let notices = channel_notices(&h);
    let told = notices.iter().filter(|m| m.contains("does not let the bot start threads")).count();
    assert_eq!(told, 1, "{notices:#?}");
    assert!(notices.iter().any(|m| m.contains("**Release 1 · Week 47**: started by alice")), "the log is in the channel: {notices:#?}");
    assert!(h.sandbox.threads(CHANNEL_ID).is_empty());
    h.finish().await
}

#[tokio::test]
async fn a_notice_resent_after_an_error_keeps_its_place_in_the_thread() -> TestResult {
    let h = Harness::start().await?;
    let (_, approval) = h.start_until_approval().await?;
    h.sandbox.click_label(&bob(), &approval, "Approve").await?;
    // The next post (the phase line after the approval) fails once and is sent again later;
    // the ones after it wait for it instead of overtaking it.
    h.sandbox.fail_next("POST", "/messages", 500, 1);
    h.sandbox.click_label(&carol(), &approval, "Approve").await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "** shipped.").await?;
    let thread = h.sandbox.threads(CHANNEL_ID);
    let log: Vec<String> = h.sandbox.messages(thread[0]).iter().map(|m| m.content().to_string()).collect();
    let advanced = log.iter().position(|m| m.contains("Phase `qa` done · ▶️ `prod` started."));
    let done = log.iter().position(|m| m.contains("Phase `prod` done."));
    assert!(advanced.is_some() && advanced < done, "in the order it happened: {log:#?}");
    h.finish().await
}
