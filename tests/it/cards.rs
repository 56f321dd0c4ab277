//! The release card: one message per release in the notices channel, edited in place at most
//! every 2 s, with a thread under it for the detailed log.

use super::harness::*;
use std::fmt::Write as _;
use std::time::Instant;
use trainmaster::sandbox::receiver::WebhookReceiver;
use trainmaster::sandbox::{StoredMessage, CHANNEL_ID};

/// Five phases of six webhook activities each.
fn thirty_activities(receiver: &WebhookReceiver) -> String {
    let mut text = format!("name: busy\nnotices: {{ channel: \"{CHANNEL_ID}\" }}\nphases:\n");
    for phase in 0..5 {
        let _ = write!(text, "  - id: phase-{phase}\n    activities:\n");
        for activity in 0..6 {
            let _ = writeln!(text, "      - {{ id: step-{phase}-{activity}, webhook: {{ url: \"{}\" }} }}", receiver.url("/hook"));
        }
    }
    text
}

fn card_edits(h: &Harness, card: &StoredMessage) -> usize {
    let path = format!("/channels/{CHANNEL_ID}/messages/{}", card.id);
    h.sandbox.requests().iter().filter(|r| r.method == "PATCH" && r.path == path).count()
}

#[tokio::test]
async fn a_busy_release_has_one_card_edited_at_most_every_two_seconds_and_its_log_in_a_thread() -> TestResult {
    let receiver = WebhookReceiver::start().await?;
    let process = thirty_activities(&receiver);
    let h = Harness::start_with(receiver, &process).await?;
    let created = h.slash(&alice(), "create", &[("process", "busy"), ("name", "Busy @everyone")]).await?;
    let id = created.release_id().unwrap_or_default();
    let started = Instant::now();
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "** shipped.").await?;
    h.receiver.wait_for_calls(30).await?;

    let in_channel = h.sandbox.messages(CHANNEL_ID);
    let cards: Vec<&StoredMessage> = in_channel.iter().filter(|m| m.content().is_empty()).collect();
    assert_eq!(cards.len(), 1, "one card: {in_channel:#?}");
    let card = h.sandbox.wait_for_edit(cards[0].id, "the card shows the end", |m| m.text().contains("— shipped")).await?;
    let elapsed = started.elapsed().as_secs();
    let title = card.json["embeds"][0]["title"].as_str().unwrap_or_default().to_string();
    assert!(title.starts_with(&format!("✅ Release {id} · Busy @\u{200B}everyone — shipped in ")), "{title}");
    assert!(card.text().lines().count() <= 6, "an ended card is short: {}", card.text());
    assert!(card.text().contains("Busy @\u{200B}everyone"), "{}", card.text());
    // 60 activity transitions, yet edits come at most one per 2 s after the first post.
    let edits = card_edits(&h, &card);
    assert!(edits >= 1 && edits as u64 <= 1 + elapsed / 2, "{edits} edits in {elapsed} s");
    // The channel reads: the card, and the end. The log is in the release's thread.
    assert_eq!(in_channel.len(), 2, "{in_channel:#?}");
    assert_eq!(h.sandbox.threads(CHANNEL_ID), vec![card.id], "the thread hangs under the card");
    let log: Vec<String> = h.sandbox.messages(card.id).iter().map(|m| m.content().to_string()).collect();
    assert!(log.first().is_some_and(|l| l.contains("Started by alice")), "{log:#?}");
    assert_eq!(log.iter().filter(|l| l.contains("Phase `phase-") && l.contains("` done")).count(), 5, "{log:#?}");
    // A phase's end and the next one's start are one line.
    assert!(log.iter().any(|l| l.contains("Phase `phase-0` done · ▶️ `phase-1` started.")), "{log:#?}");
    assert!(log.iter().all(|l| !l.contains("Busy")), "no release name on every line of its own thread: {log:#?}");
    let thread = h.sandbox.requests().into_iter().find(|r| r.path.ends_with("/threads")).and_then(|r| r.body).unwrap_or_default();
    assert_eq!(thread["name"], format!("Release {id} · Busy @everyone"));
    h.finish().await
}

#[tokio::test]
async fn each_release_gets_its_own_card_and_thread() -> TestResult {
    let h = Harness::start().await?;
    let (first, _) = h.start_until_approval().await?;
    let second = h.create(VALID_INPUTS).await?;
    h.slash(&alice(), "start", &[("release", &second)]).await?;
    h.sandbox.wait_for_nth_thread_message(CHANNEL_ID, "Approval `qa-approval` needed", 2).await?;
    let threads = h.sandbox.threads(CHANNEL_ID);
    assert_eq!(threads.len(), 2);
    for (thread, id) in threads.iter().zip([&first, &second]) {
        let log = h.sandbox.messages(*thread);
        assert!(log.iter().all(|m| !m.content().contains("Week 47")), "the thread needs no name on each line: {log:#?}");
        let card = h.sandbox.messages(CHANNEL_ID).into_iter().find(|m| m.id == *thread);
        let title = card.map(|c| c.json["embeds"][0]["title"].as_str().unwrap_or_default().to_string()).unwrap_or_default();
        assert!(title.contains(&format!("Release {id} · Week 47")), "thread {thread} hangs under release {id}'s card: {title}");
    }
    h.finish().await
}

fn card_of(h: &Harness) -> anyhow::Result<StoredMessage> {
    h.sandbox.messages(CHANNEL_ID).into_iter().find(|m| m.content().is_empty()).ok_or_else(|| anyhow::anyhow!("no card in the channel"))
}

#[tokio::test]
async fn the_card_holds_resumes_and_aborts_for_its_release_manager_with_a_reason() -> TestResult {
    let h = Harness::start().await?;
    let (id, _) = h.start_until_approval().await?;
    let card = card_of(&h)?;
    let card = h.sandbox.wait_for_edit(card.id, "Hold and Abort", |m| m.buttons().iter().any(|(_, l)| l == "Hold")).await?;

    // Someone who may not control the release is refused at the click, before typing a reason.
    let refused = h.sandbox.click_label(&dave(), &card, "Hold").await?;
    assert!(refused.ephemeral() && refused.text().contains("release's creator"), "{}", refused.text());

    let form = h.sandbox.click_label(&alice(), &card, "Hold").await?;
    assert_eq!((form.kind, form.data["title"].as_str()), (9, Some(format!("Hold release {id}").as_str())));
    assert!(h.sandbox.submit_modal(&alice(), &form, &[("reason", "")]).await.is_err(), "a reason is required");
    let held = h.sandbox.submit_modal(&alice(), &form, &[("reason", "Waiting for the @everyone fix")]).await?;
    assert!(held.ephemeral() && held.text().contains("is now on hold"), "{}", held.text());
    let on_hold = h.sandbox.wait_for_thread_message(CHANNEL_ID, "On hold by ").await?;
    assert!(on_hold.content().contains("Waiting for the @\u{200B}everyone fix"), "{}", on_hold.content());
    let card = h.sandbox.wait_for_edit(card.id, "Resume", |m| m.buttons().iter().any(|(_, l)| l == "Resume")).await?;
    assert!(card.text().contains("— on hold"), "{}", card.text());

    let resumed = h.sandbox.click_label(&alice(), &card, "Resume").await?;
    assert!(resumed.text().contains("running again"), "{}", resumed.text());
    let form = h.sandbox.click_label(&alice(), &card, "Abort").await?;
    let aborted = h.sandbox.submit_modal(&alice(), &form, &[("reason", "Bad build")]).await?;
    assert!(aborted.text().contains("is now aborted"), "{}", aborted.text());
    h.sandbox.wait_for_message(CHANNEL_ID, "** aborted by ").await?;
    let card = h
        .sandbox
        .wait_for_edit(card.id, "no buttons once ended", |m| m.text().contains("— aborted by alice: Bad build") && m.buttons().is_empty())
        .await?;
    assert!(card.text().contains("Bad build"), "{}", card.text());
    let trail = h.audit(&id).await?;
    assert!(trail.iter().any(|r| r.action == "release_aborted" && r.detail.to_string().contains("Bad build")), "{:?}", actions(&trail));
    h.finish().await
}

#[tokio::test]
async fn a_hold_click_on_an_ended_release_is_refused_at_the_click_not_after_typing() -> TestResult {
    let h = Harness::start().await?;
    let (id, _) = h.start_until_approval().await?;
    let card = card_of(&h)?;
    // The card as a client still shows it, with its buttons, after the release ended.
    let stale = h.sandbox.wait_for_edit(card.id, "Hold and Abort", |m| m.buttons().iter().any(|(_, l)| l == "Hold")).await?;
    h.slash(&alice(), "abort", &[("release", &id), ("reason", "wrong branch")]).await?;
    h.sandbox.wait_for_message(CHANNEL_ID, "** aborted by ").await?;
    for label in ["Hold", "Abort"] {
        let reply = h.sandbox.click_label(&alice(), &stale, label).await?;
        assert_ne!(reply.kind, 9, "{label}: no reason form for a release that has ended");
        assert!(reply.ephemeral() && reply.text().contains("is aborted"), "{label}: {}", reply.text());
    }
    h.finish().await
}
