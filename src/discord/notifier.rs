//! Posts outbox chat messages to Discord, at least once. The outbox row id goes out as the
//! message nonce with `enforce_nonce`, so a re-post after a crash within Discord's nonce window
//! returns the first message instead of a duplicate.
//!
//! Two kinds of rows: notices, and redraws of a release's card. The card is posted in the
//! notices channel at the release's first redraw, with a thread under it; later redraws edit it
//! in place (coalesced, at most one per `CARD_EDIT_GAP_MS`). Notices about the release's progress
//! go to that thread so the channel stays readable; its end and `notice` activities stay in the
//! channel.

mod advance;

use super::{cached_roles, card_controls, card_timing, release_timing, render, to_channel, to_guild};
use crate::domain::principal::{Principal, RoleRef};
use crate::domain::process::ActivityKind;
use crate::domain::release::{Notice, ReleaseId, StepStatus};
use crate::domain::{ChannelId, GuildId};
use crate::engine::{drain_loop, Engine, EngineError, NextTask, Shutdown};
use crate::store::{AuditHeadPost, CardRedraw, ChatMessage, ChatWork, Destination, DrawnCard, OpenRequest, OutboxItem, Topic};
use poise::serenity_prelude as serenity;
use std::sync::Arc;
use std::time::Duration;

/// Discord's error code for "a thread has already been created for this message".
const THREAD_ALREADY_CREATED: isize = 160_004;

pub struct Notifier {
    engine: Engine,
    http: Arc<serenity::Http>,
    /// The gateway's cache: guilds' roles (GUILD_CREATE and GUILD_ROLE_* keep them current).
    cache: Arc<serenity::Cache>,
    next: NextTask,
    reporter: super::delivery_report::Reporter,
    /// A message already waited its turns for the gateway to describe every server: the next
    /// ones do not wait again (they go out in order, so waiting would add up message by message).
    waited_for_gateway: std::sync::atomic::AtomicBool,
}

impl Notifier {
    pub fn new(engine: Engine, http: Arc<serenity::Http>, cache: Arc<serenity::Cache>) -> Self {
        Self { engine, http, cache, next: NextTask::default(), reporter: Default::default(), waited_for_gateway: Default::default() }
    }

    /// Posts one due message or redraws one card, if any is due.
    pub async fn try_execute_task(&self) -> anyhow::Result<bool> {
        let Some(item) = self.engine.claim_chat(&self.next).await? else {
            return Ok(false);
        };
        let outcome = match serde_json::from_value::<ChatWork>(item.payload.clone()) {
            Ok(ChatWork::Card { card }) => self.redraw(&card, item.claims).await,
            Ok(ChatWork::Message(message)) => self.post(&item, &message).await.map(|()| None),
            Ok(ChatWork::AuditHead { audit_head }) => self.post_audit_head(&item, &audit_head).await.map(|()| None),
            Ok(ChatWork::Advance { advance }) => self.advance_notice(&item, &advance).await.map(|()| None),
            Ok(ChatWork::Board { board }) => self.draw_board(&item, board.guild_id).await.map(|()| None),
            Ok(ChatWork::Digest { digest }) => self.post_digest(&item, &digest).await.map(|()| None),
            Err(e) => Err(Failure::Unreadable(e.to_string())),
        };
        self.settle(&item, outcome).await?;
        Ok(true)
    }

    /// Completes, sets aside or reschedules a delivery by how it went.
    async fn settle(&self, item: &OutboxItem, outcome: Result<Option<DrawnCard>, Failure>) -> anyhow::Result<()> {
        match outcome {
            Ok(card) => self.next.carry(self.engine.chat_delivered(item, card.as_ref()).await?),
            Err(Failure::Unreadable(e)) => {
                tracing::error!(key = %item.key, error = %e, "unreadable chat row; it is set aside");
                self.engine.set_aside(item, &format!("unreadable payload: {e}")).await?;
            }
            Err(Failure::Foreign(why)) => {
                tracing::error!(key = %item.key, why, "a release's message was addressed to another server; it is set aside");
                self.engine.set_aside(item, &why).await?;
            }
            Err(Failure::Discord(channel, e)) if is_permanent(&e) => {
                // Retrying cannot fix a missing channel or permission: record it for the
                // operators and move on; the release itself is unaffected.
                tracing::error!(key = %item.key, %channel, error = %e, "Discord refused a chat message; it is set aside");
                self.engine.set_aside(item, &format!("Discord refused the message in channel {channel}: {e}")).await?;
                if let Some(release) = item.release_id {
                    self.reporter.report(&self.engine, &self.http, release, channel, &e.to_string()).await;
                }
            }
            Err(Failure::Discord(_, e)) => self.retry_later(item, &e.to_string()).await?,
            // The card is usually a moment away: look again soon, not with the growing backoff.
            Err(Failure::NotYet(why)) => self.engine.chat_failed(item, Duration::from_secs(1), why).await?,
            Err(Failure::Engine(e)) => self.retry_later(item, &e.to_string()).await?,
        }
        Ok(())
    }

    /// The last guard between servers: a release's message never goes into a channel the
    /// gateway places in another server (create and start refuse such processes first).
    /// Right after connecting, until the gateway has described every server, a channel it does
    /// not know yet waits (a few seconds, `WAITS_FOR_THE_GATEWAY` tries) rather than being posted
    /// to unchecked; a server that stays unavailable longer does not hold its releases' messages.
    pub(super) fn same_server(&self, guild: GuildId, channel: ChannelId, release: ReleaseId, claims: i64) -> Result<(), Failure> {
        const WAITS_FOR_THE_GATEWAY: i64 = 6;
        match self.engine.guild_of_channel(channel) {
            Some(home) if home != guild => {
                Err(Failure::Foreign(format!("channel {channel} is in another server than release {release}'s; nothing was posted there")))
            }
            None if !self.engine.channels_complete() && !self.waited_for_gateway.load(std::sync::atomic::Ordering::Relaxed) => {
                if claims < WAITS_FOR_THE_GATEWAY {
                    return Err(Failure::NotYet("the gateway has not described every server yet"));
                }
                self.waited_for_gateway.store(true, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn retry_later(&self, item: &OutboxItem, error: &str) -> anyhow::Result<()> {
        let delay = Duration::from_secs(2u64.saturating_pow(item.claims.clamp(1, 8) as u32));
        tracing::warn!(key = %item.key, error, retry_in = ?delay, "cannot deliver a chat message; will retry");
        self.engine.chat_failed(item, delay, error).await?;
        Ok(())
    }

    /// Posts one notice: in the release's thread when it is about progress and the thread
    /// exists, else in its channel.
    async fn post(&self, item: &OutboxItem, message: &ChatMessage) -> Result<(), Failure> {
        if let Notice::RequestsClosed { activity, why } = &message.notice {
            return self.close_requests(message.release_id, activity.as_deref(), why).await;
        }
        if let Some(guild) = message.guild_id {
            self.same_server(guild, message.channel_id, message.release_id, item.claims)?;
        }
        let channel_id = match message.destination {
            Some(Destination::Channel) => message.channel_id,
            Some(Destination::ReleaseThread) => self.release_thread(item, message).await?,
            // Queued before destinations were kept: decided now, as it was then.
            None => {
                let card = self.engine.store().card(message.release_id).await.map_err(|e| Failure::Engine(e.into()))?;
                let thread =
                    card.filter(|c| c.channel_id == message.channel_id && message.notice.is_progress()).and_then(|c| c.thread_id());
                thread.unwrap_or(message.channel_id)
            }
        };
        // Unique per destination: a nonce is never reused for another channel.
        let nonce = nonce("tm", &[item.id as u64, channel_id.0]);
        let place = if channel_id == message.channel_id { render::Place::Channel } else { render::Place::Thread };
        let pinged = render::pinged(&message.notice);
        let names = self.names(message.release_id, message.guild_id, &pinged).await.map_err(Failure::Engine)?;
        let mut builder = render::notice_message(message, &names, place).nonce(nonce).enforce_nonce(true);
        if !pinged.is_empty() {
            builder = builder.allowed_mentions(pings(&names, &pinged));
        }
        if let Notice::ReleaseFinished { .. } = &message.notice {
            // One message for the end: the release as it ended, not the bare notice.
            if let Some(text) = self.end_message(message.release_id).await.map_err(Failure::Engine)? {
                builder = builder.content(text);
            }
        }
        let posted =
            to_channel(channel_id).send_message(&self.http, builder).await.map_err(|e| Failure::Discord(channel_id, Box::new(e)))?;
        self.remember_request(message, channel_id, posted.id.get()).await.map_err(Failure::Engine)?;
        Ok(())
    }

    /// Posts the day's audit head in the audit channel (a server's channel, but no release's).
    async fn post_audit_head(&self, item: &OutboxItem, head: &AuditHeadPost) -> Result<(), Failure> {
        let message = serenity::CreateMessage::new()
            .content(render::audit_head_text(head))
            .allowed_mentions(serenity::CreateAllowedMentions::new())
            .nonce(nonce("head", &[item.id as u64, head.channel_id.0]))
            .enforce_nonce(true);
        to_channel(head.channel_id).send_message(&self.http, message).await.map_err(|e| Failure::Discord(head.channel_id, Box::new(e)))?;
        Ok(())
    }

    /// Keeps the id of a message that asks people for something, to close it later.
    async fn remember_request(&self, message: &ChatMessage, channel: ChannelId, posted: u64) -> anyhow::Result<()> {
        let (activity, level) = match &message.notice {
            Notice::ManualTask { activity, .. } => (activity, 0),
            Notice::ApprovalRequested { activity, level_index, .. } => (activity, *level_index),
            _ => return Ok(()),
        };
        self.engine.store().record_request(message.release_id, activity, level, channel, posted).await?;
        Ok(())
    }

    /// Closes the release's open requests (of `activity` only, when given) that are still
    /// waiting: their buttons become one disabled button saying `why`. A request already
    /// answered (approved, rejected, done) kept the edit its click made.
    async fn close_requests(&self, id: ReleaseId, activity: Option<&str>, why: &str) -> Result<(), Failure> {
        let engine = |e: anyhow::Error| Failure::Engine(e);
        let release = match self.engine.release_in_any_guild(id).await {
            Ok(release) => release,
            Err(EngineError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(engine(e.into())),
        };
        let open = self.engine.store().open_requests(id, activity).await.map_err(|e| engine(e.into()))?;
        for request in open {
            if still_waiting(&release, &request) {
                let components = render::closed_request(id, &request.activity, why, serenity::ButtonStyle::Secondary);
                let edit = serenity::EditMessage::new().components(components).allowed_mentions(serenity::CreateAllowedMentions::new());
                let channel = to_channel(request.channel_id);
                channel
                    .edit_message(&self.http, serenity::MessageId::new(request.message_id.max(1)), edit)
                    .await
                    .map_err(|e| Failure::Discord(request.channel_id, Box::new(e)))?;
            }
            self.engine.store().close_request(id, request.message_id).await.map_err(|e| engine(e.into()))?;
        }
        Ok(())
    }

    /// The release's server's roles, to show principals as mentions: from the gateway's cache;
    /// from REST only when the cache lacks the server and a ping needs a role given by name.
    /// Without them, roles are named, not pinged.
    pub(super) async fn names(&self, id: ReleaseId, guild: Option<GuildId>, pinged: &[Principal]) -> anyhow::Result<render::Names> {
        let guild = match guild {
            Some(guild) => guild,
            None => self.engine.release_in_any_guild(id).await?.guild_id,
        };
        let guild_id = to_guild(guild);
        if let Some(roles) = cached_roles(&self.cache, guild_id) {
            return Ok(render::Names::new(roles));
        }
        if !pinged.iter().any(|p| matches!(p, Principal::Role(RoleRef::Name(_)))) {
            return Ok(render::Names::default());
        }
        match guild_id.roles(&self.http).await {
            Ok(found) => Ok(render::Names::new(found.values().map(|r| (r.id.get(), r.name.clone())))),
            Err(e) => {
                tracing::warn!(%guild, error = %e, "cannot read the guild's roles; approver roles are named, not pinged");
                Ok(render::Names::default())
            }
        }
    }

    /// The one message that tells the channel how the release ended; `None` when it is gone.
    async fn end_message(&self, id: ReleaseId) -> anyhow::Result<Option<String>> {
        let release = match self.engine.release_in_any_guild(id).await {
            Ok(release) => release,
            Err(EngineError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(Some(render::end_message(&release, &release_timing(&self.engine, id).await?)))
    }

    /// Draws the release's card as the release is now: posts it (and starts its thread) the
    /// first time, edits it after.
    async fn redraw(&self, redraw: &CardRedraw, claims: i64) -> Result<Option<DrawnCard>, Failure> {
        let release = match self.engine.release_in_any_guild(redraw.release_id).await {
            Ok(release) => release,
            // A deleted release has no card to draw.
            Err(EngineError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(Failure::Engine(e.into())),
        };
        self.same_server(release.guild_id, redraw.channel_id, release.id, claims)?;
        let card = self.engine.store().card(redraw.release_id).await.map_err(|e| Failure::Engine(e.into()))?;
        let names = self.names(release.id, Some(release.guild_id), &[]).await.map_err(Failure::Engine)?;
        let timing = card_timing(&self.engine, &release).await.map_err(|e| Failure::Engine(e.into()))?;
        let embed = render::release_card(&release, &names, &timing);
        let channel = to_channel(redraw.channel_id);
        let discord = |e| Failure::Discord(redraw.channel_id, Box::new(e));
        let (message_id, has_thread) = match card.and_then(|c| c.message_id.map(|id| (id, c.has_thread))) {
            Some((message_id, has_thread)) => {
                let edit = serenity::EditMessage::new()
                    .embed(embed.clone())
                    .components(card_controls::buttons(&release))
                    .allowed_mentions(serenity::CreateAllowedMentions::new());
                channel.edit_message(&self.http, serenity::MessageId::new(message_id.max(1)), edit).await.map_err(discord)?;
                (message_id, has_thread)
            }
            None => {
                let post = serenity::CreateMessage::new()
                    .embed(embed)
                    .components(card_controls::buttons(&release))
                    .allowed_mentions(serenity::CreateAllowedMentions::new())
                    .nonce(nonce("card", &[release.id.0 as u64]))
                    .enforce_nonce(true);
                let message = channel.send_message(&self.http, post).await.map_err(discord)?;
                (message.id.get(), self.start_thread(channel, message.id, &render::thread_name(&release)).await.is_ok())
            }
        };
        Ok(Some(DrawnCard { redraw: *redraw, message_id, has_thread }))
    }

    /// Starts the release's thread under its card. When it fails, the notices for it start it
    /// again (see `release_thread`); the release is unaffected.
    async fn start_thread(&self, channel: serenity::ChannelId, message: serenity::MessageId, name: &str) -> Result<(), serenity::Error> {
        let thread = serenity::CreateThread::new(name).auto_archive_duration(serenity::AutoArchiveDuration::OneWeek);
        match channel.create_thread_from_message(&self.http, message, thread).await {
            Ok(_) => Ok(()),
            // Started before a crash cut off recording it.
            Err(serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(e))) if e.error.code == THREAD_ALREADY_CREATED => Ok(()),
            Err(e) => {
                tracing::warn!(channel = %channel, error = %e, "cannot start a release thread");
                Err(e)
            }
        }
    }

    /// The channel a notice for the release's thread goes to: the thread, once the card is
    /// posted and its thread started (started here when the card's own try failed). Only when
    /// the channel refuses threads for good does the log go to the channel, which is told once.
    /// A card that never comes (its post refused) lets the notice go to the channel after a
    /// few waits rather than hold it forever.
    async fn release_thread(&self, item: &OutboxItem, message: &ChatMessage) -> Result<ChannelId, Failure> {
        // About 30 s at one look a second: longer than a card's own retries after a 429 and a 5xx
        // (2 s, then 4 s), so a slow card is waited for rather than overtaken.
        const WAITS_FOR_THE_CARD: i64 = 30;
        let store = self.engine.store();
        let card = store.card(message.release_id).await.map_err(|e| Failure::Engine(e.into()))?;
        let Some((card, card_message)) = card.and_then(|c| c.message_id.map(|m| (c, m))) else {
            if item.claims >= WAITS_FOR_THE_CARD {
                return Ok(message.channel_id);
            }
            // A card whose post was refused is drawn again by the next change; make sure one comes.
            self.engine.redraw_card(message.release_id, message.channel_id).await.map_err(|e| Failure::Engine(e.into()))?;
            return Err(Failure::NotYet("the release's card is not posted yet"));
        };
        if let Some(thread) = card.thread_id() {
            return Ok(thread);
        }
        if card.thread_refused {
            return Ok(card.channel_id);
        }
        let channel = to_channel(card.channel_id);
        let name = render::thread_name_for(message.release_id, &message.release_name);
        match self.start_thread(channel, serenity::MessageId::new(card_message.max(1)), &name).await {
            Ok(()) => {
                store.thread_started(message.release_id).await.map_err(|e| Failure::Engine(e.into()))?;
                // A thread started from a message has the message's id.
                Ok(ChannelId(card_message))
            }
            Err(e) if !is_permanent(&e) => Err(Failure::Discord(card.channel_id, Box::new(e))),
            Err(_) => {
                if store.thread_refused(message.release_id).await.map_err(|e| Failure::Engine(e.into()))? {
                    let text = format!(
                        "🧵 Release **{} · {}**: this channel does not let the bot start threads, so the release's log follows here.",
                        message.release_id,
                        render::inert(&message.release_name)
                    );
                    let note = serenity::CreateMessage::new()
                        .content(text)
                        .allowed_mentions(serenity::CreateAllowedMentions::new())
                        .nonce(nonce("nothread", &[message.release_id.0 as u64]))
                        .enforce_nonce(true);
                    channel.send_message(&self.http, note).await.map_err(|e| Failure::Discord(card.channel_id, Box::new(e)))?;
                }
                Ok(card.channel_id)
            }
        }
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) {
        let (wake, store) = (self.engine.chat_wake.clone(), self.engine.store().clone());
        drain_loop(shutdown, wake, store, Topic::Chat, || self.try_execute_task()).await;
    }
}

/// Why a chat delivery did not go through.
pub(super) enum Failure {
    Unreadable(String),
    /// The destination is in another server than the release: never posted, set aside.
    Foreign(String),
    /// What the message waits for (its release's card) is not there yet: tried again later.
    NotYet(&'static str),
    /// Boxed: serenity's error is large, and this type travels through every result here.
    Discord(ChannelId, Box<serenity::Error>),
    Engine(anyhow::Error),
}

/// allowed_mentions naming exactly the principals a notice pings (roles by name resolved in the
/// guild; a name no role has is shown, not pinged): requests for someone's action are the only
/// messages that ping.
/// A message nonce. Discord takes at most 25 characters and drops a repeated post with the same
/// nonce (`enforce_nonce`): a short `kind` and the parts that make the post unique (an outbox row,
/// a channel, a release), hashed (FNV-1a) to 16 hex digits, fit whatever the ids' size.
pub(super) fn nonce(kind: &str, parts: &[u64]) -> serenity::Nonce {
    let hash =
        parts.iter().flat_map(|p| p.to_le_bytes()).fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    serenity::Nonce::String(format!("{kind}{hash:016x}"))
}

pub(super) fn pings(names: &render::Names, pinged: &[Principal]) -> serenity::CreateAllowedMentions {
    let (mut users, mut roles) = (vec![], vec![]);
    for principal in pinged {
        match principal {
            Principal::User(user) => users.push(serenity::UserId::new(user.0.max(1))),
            Principal::Role(role) => roles.extend(names.role_id(role).map(|id| serenity::RoleId::new(id.max(1)))),
        }
    }
    serenity::CreateAllowedMentions::new().users(users).roles(roles)
}

/// Whether a request still shows buttons nobody has answered: a manual task not done, an
/// approval level neither complete nor rejected.
fn still_waiting(release: &crate::domain::Release, request: &OpenRequest) -> bool {
    let Some(run) = release.activity(&request.activity) else { return false };
    match release.process.activity(&request.activity).map(|a| &a.kind) {
        Some(ActivityKind::Manual(_)) => run.status != StepStatus::Success,
        Some(ActivityKind::Approval(_)) => {
            !run.decisions.iter().any(|d| !d.approve) && !render::approval_level_done(release, &request.activity, request.level as usize)
        }
        _ => false,
    }
}

/// A 4xx other than 429 (rate limited) will not change by retrying: unknown channel, missing
/// access or permissions, invalid body.
fn is_permanent(e: &serenity::Error) -> bool {
    match e {
        serenity::Error::Http(http) => http.status_code().is_some_and(|s| s.is_client_error() && s.as_u16() != 429),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_fit_discords_25_characters_whatever_the_ids_and_differ_by_destination() {
        // Before: `tm{row}-{channel}` passed 25 characters once outbox rows reached four digits
        // beside a 19-digit channel id, and Discord refused every such post.
        let text = |n: serenity::Nonce| match n {
            serenity::Nonce::String(s) => s,
            serenity::Nonce::Number(n) => n.to_string(),
        };
        for kind in ["tm", "head", "card", "nothread", "asn", "board", "digest"] {
            let long = text(nonce(kind, &[u64::MAX, 1_234_567_890_123_456_789]));
            assert!(long.len() <= 25, "{long}");
        }
        assert_ne!(text(nonce("tm", &[12_345, 1])), text(nonce("tm", &[12_345, 2])));
        assert_eq!(text(nonce("tm", &[7, 9])), text(nonce("tm", &[7, 9])), "a retry sends the same nonce");
    }
}
