//! Boundaries between servers: process files are shared by every server the bot is in, but a
//! release of one server never posts into another's channels, and a process limited to some
//! servers (`guilds:`) is invisible everywhere else.

use super::harness::*;
use serde_json::json;
use trainmaster::domain::release::{Notice, ReleaseId};
use trainmaster::sandbox::receiver::WebhookReceiver;
use trainmaster::sandbox::{roles, SandboxUser, CHANNEL_ID, GUILD_ID, OTHER_CHANNEL_ID, OTHER_GUILD_ID};
use trainmaster::store::{enqueue_chat_to, Store};

/// A release manager of the other server.
fn erin() -> SandboxUser {
    SandboxUser::new(20, "erin", &[roles::RELEASE_MANAGERS]).in_guild(OTHER_GUILD_ID)
}

/// Messages the bot posted in `channel`.
/// Messages about releases in `channel` (the day's audit head, posted at a start, is not one).
fn posted(h: &Harness, channel: u64) -> usize {
    h.sandbox.messages(channel).iter().filter(|m| !m.content().starts_with("🔒 Daily audit trail head")).count()
}

/// `shop` (notices in the first server's channel, open to every server) and `other-only`,
/// limited to the other server, whose notices go to its channel.
async fn two_servers() -> anyhow::Result<Harness> {
    let receiver = WebhookReceiver::start().await?;
    let shop = shop_process(&receiver);
    let other_only = format!(
        "name: other-only\nguilds: [\"{OTHER_GUILD_ID}\"]\nnotices: {{ channel: \"{OTHER_CHANNEL_ID}\" }}\nphases:\n  - id: p\n    activities:\n      - {{ id: hello, notice: {{ message: \"hello\" }} }}\n"
    );
    Harness::start_with_files(receiver, &[("shop.yaml", &shop), ("other-only.yaml", &other_only)]).await
}

#[tokio::test]
async fn a_release_manager_of_another_server_cannot_create_a_release_that_posts_into_this_one() -> TestResult {
    let h = two_servers().await?;
    let reply = h.slash(&erin(), "create", &[("process", "shop"), ("name", "Week 49"), ("inputs", VALID_INPUTS)]).await?;
    assert!(reply.ephemeral(), "{}", reply.text());
    assert!(
        reply.text().contains(&format!("Process `shop` posts to channel {CHANNEL_ID}, which is in another server")),
        "{}",
        reply.text()
    );
    assert_eq!(h.count_releases().await?, 0, "nothing stored");
    assert_eq!(posted(&h, CHANNEL_ID), 0, "nothing posted in the first server");
    h.finish().await
}

#[tokio::test]
async fn a_release_that_would_post_into_another_server_is_refused_at_start_and_nothing_is_posted() -> TestResult {
    let mut h = two_servers().await?;
    // A release made before servers were checked (by an earlier run of the bot): it lives in the
    // other server, but its process posts into the first one.
    let id = h.create(VALID_INPUTS).await?;
    h.stop_bot().await?;
    let store = h.store().await?;
    sqlx::query("UPDATE releases SET guild_id = ? WHERE id = ?")
        .bind(OTHER_GUILD_ID as i64)
        .bind(id.parse::<i64>()?)
        .execute(store.pool())
        .await?;
    drop(store);
    h.start_bot().await?;
    let before = posted(&h, CHANNEL_ID);
    let reply = h.slash(&erin(), "start", &[("release", &id)]).await?;
    assert!(reply.ephemeral() && reply.text().contains("which is in another server"), "{}", reply.text());
    let status = h.slash(&erin(), "status", &[("release", &id)]).await?;
    assert_eq!(status.state().as_deref(), Some("Draft"));
    assert_eq!(posted(&h, CHANNEL_ID), before, "no card, no thread in the first server: {:#?}", h.sandbox.messages(CHANNEL_ID));
    h.finish().await
}

#[tokio::test]
async fn a_process_limited_to_another_server_is_invisible_here_and_works_there() -> TestResult {
    let h = two_servers().await?;
    let list = h.sandbox.slash(&alice(), "process", "list", &[]).await?;
    assert!(list.text().contains("shop") && !list.text().contains("other-only"), "{}", list.text());
    let offered = h.sandbox.autocomplete(&alice(), "release", "create", "process", "other").await?;
    assert!(offered.is_empty(), "{offered:?}");
    let shown = h.sandbox.slash(&alice(), "process", "show", &[("process", "other-only")]).await?;
    assert!(shown.text().contains("There is no process `other-only`"), "{}", shown.text());
    let create = h.slash(&alice(), "create", &[("process", "other-only"), ("name", "Sneaky"), ("inputs", "")]).await?;
    assert!(create.text().contains("There is no process `other-only`") && create.text().contains("`shop`"), "{}", create.text());
    assert_eq!(h.count_releases().await?, 0);

    let there = h.sandbox.slash(&erin(), "process", "list", &[]).await?;
    assert!(there.text().contains("other-only"), "{}", there.text());
    let created = h.slash(&erin(), "create", &[("process", "other-only"), ("name", "Theirs"), ("inputs", "")]).await?;
    let id = created.release_id().ok_or_else(|| anyhow::anyhow!("{}", created.text()))?;
    h.slash(&erin(), "start", &[("release", &id)]).await?;
    h.sandbox.wait_for_message(OTHER_CHANNEL_ID, "** shipped.").await?;
    assert_eq!(posted(&h, CHANNEL_ID), 0, "the other server's release posted nothing here");
    h.finish().await
}

#[tokio::test]
async fn a_forged_approve_click_from_another_server_changes_nothing() -> TestResult {
    let h = two_servers().await?;
    let (id, approval) = h.start_until_approval().await?;
    let qa_elsewhere = SandboxUser::new(11, "bob", &[roles::QA]).in_guild(OTHER_GUILD_ID);
    let reply = h.sandbox.click_label(&qa_elsewhere, &approval, "Approve").await?;
    assert!(reply.ephemeral() && reply.text().contains(&format!("There is no release {id} in this server")), "{}", reply.text());
    let trail = actions(&h.audit(&id).await?);
    assert!(!trail.contains(&"approval_given".to_string()) && !trail.contains(&"approval_recorded".to_string()), "{trail:?}");
    h.finish().await
}

#[tokio::test]
async fn a_ci_trigger_for_another_servers_channel_is_refused_and_creates_nothing() -> TestResult {
    let h = two_servers().await?;
    let url = h.http_url("/hooks/releases");
    let body = json!({
        "guild_id": OTHER_GUILD_ID.to_string(), "process": "shop", "name": "From CI",
        "inputs": {"version": "2.0.0", "services": ["api"]}, "start": true
    })
    .to_string();
    let (status, answer) = post_signed(&url, TRIGGER_SECRET, "ci-run-other", now(), body.as_bytes()).await?;
    assert_eq!(status, 422, "{answer}");
    assert!(answer["error"].as_str().is_some_and(|e| e.contains("which is in another server")), "{answer}");
    let hidden = json!({"guild_id": GUILD_ID.to_string(), "process": "other-only", "name": "x", "inputs": {}}).to_string();
    let (status, answer) = post_signed(&url, TRIGGER_SECRET, "ci-run-hidden", now(), hidden.as_bytes()).await?;
    assert!(status == 422 && answer["error"].as_str().is_some_and(|e| e.contains("there is no process `other-only`")), "{status} {answer}");
    assert_eq!(h.count_releases().await?, 0);
    h.finish().await
}

#[tokio::test]
async fn the_notifier_never_posts_a_releases_message_into_another_servers_channel() -> TestResult {
    let mut h = two_servers().await?;
    let id = h.create(VALID_INPUTS).await?;
    h.stop_bot().await?;
    // The last guard: a message of a release of the other server, addressed to this server's
    // channel, as only a bug or a hand-edited database could queue it.
    let store = Store::open(&h.database()).await?;
    let mut tx = store.begin().await?;
    let mut release = Store::load_release(&mut tx, ReleaseId(id.parse()?)).await?.ok_or_else(|| anyhow::anyhow!("no release"))?;
    release.guild_id = trainmaster::domain::GuildId(OTHER_GUILD_ID);
    enqueue_chat_to(&mut tx, &release, trainmaster::domain::ChannelId(CHANNEL_ID), &Notice::Message { channel: None, text: "leak".into() })
        .await?;
    tx.commit().await?;
    h.start_bot().await?;
    let row = h.wait_for_audit(&id, "delivery_set_aside").await?;
    assert!(row.detail["why"].as_str().is_some_and(|w| w.contains("is in another server")), "{}", row.detail);
    assert!(h.sandbox.messages(CHANNEL_ID).iter().all(|m| !m.content().contains("leak")), "nothing was posted");
    h.finish().await
}

#[tokio::test]
async fn create_and_start_leave_one_card_in_the_notices_channel_and_drafts_stay_private() -> TestResult {
    let h = two_servers().await?;
    let id = h.create(VALID_INPUTS).await?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    h.sandbox.wait_for_thread_message(CHANNEL_ID, "Approval `qa-approval` needed").await?;
    let footer = format!("Release {id} · ");
    let cards = h
        .sandbox
        .messages(CHANNEL_ID)
        .into_iter()
        .filter(|m| m.json["embeds"][0]["footer"]["text"].as_str().is_some_and(|f| f.starts_with(&footer)))
        .count();
    assert_eq!(cards, 1, "one card for the release in its channel");
    // Created elsewhere (here in the other server, whose process posts there too), the Draft is
    // still only its creator's: a public Draft card would stay behind, frozen.
    let created = h.slash(&erin(), "create", &[("process", "other-only"), ("name", "Theirs"), ("inputs", "")]).await?;
    assert!(created.ephemeral(), "other-only posts its card in this channel too: {}", created.text());
    h.finish().await
}
