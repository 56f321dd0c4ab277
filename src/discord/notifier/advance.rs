//! Posting and editing advance shipping notices.

use super::{Failure, Notifier};
use crate::discord::render;
use crate::discord::to_channel;
use crate::domain::release::ReleaseStatus;
use crate::engine::EngineError;
use crate::store::{AdvancePost, OutboxItem};
use poise::serenity_prelude as serenity;

impl Notifier {
    /// Posts the release's advance shipping notice when it is due and still planned, or edits the
    /// one posted to say what changed (moved, started, taken back, aborted). A row queued for an
    /// older schedule posts nothing: the row of the current one does.
    pub(super) async fn advance_notice(&self, item: &OutboxItem, post: &AdvancePost) -> Result<(), Failure> {
        let engine = |e: anyhow::Error| Failure::Engine(e);
        let release = match self.engine.release_in_any_guild(post.release_id).await {
            Ok(release) => release,
            Err(EngineError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(engine(e.into())),
        };
        self.same_server(release.guild_id, post.channel_id, release.id, item.claims)?;
        let store = self.engine.store();
        let posted = store.advance_notice(release.id).await.map_err(|e| engine(e.into()))?;
        let current = release.schedule.as_ref().is_some_and(|s| s.generation == post.generation);
        if posted.is_none() && !(current && release.status == ReleaseStatus::NotStarted) {
            return Ok(());
        }
        let mut facts = self.engine.advance_facts(&release).await.map_err(|e| engine(e.into()))?;
        if let Some(card) = store.card(release.id).await.map_err(|e| engine(e.into()))? {
            facts.card_url = card.message_id.map(|m| format!("https://discord.com/channels/{}/{}/{m}", release.guild_id, card.channel_id));
        }
        let stakeholders = release.process.stakeholders.clone();
        let names = self.names(release.id, Some(release.guild_id), &stakeholders).await.map_err(Failure::Engine)?;
        let text = render::advance_notice(&release, &facts, &names);
        match posted {
            Some((channel, message)) => {
                // Edits ping nobody: the stakeholders were told when it was posted.
                let edit = serenity::EditMessage::new().content(text).allowed_mentions(serenity::CreateAllowedMentions::new());
                to_channel(channel)
                    .edit_message(&self.http, serenity::MessageId::new(message.max(1)), edit)
                    .await
                    .map_err(|e| Failure::Discord(channel, Box::new(e)))?;
            }
            None => {
                // Its only ping: the process's stakeholders.
                let message = serenity::CreateMessage::new()
                    .content(text)
                    .allowed_mentions(super::pings(&names, &stakeholders))
                    .nonce(super::nonce("asn", &[release.id.0 as u64, u64::from(post.generation)]))
                    .enforce_nonce(true);
                let sent = to_channel(post.channel_id)
                    .send_message(&self.http, message)
                    .await
                    .map_err(|e| Failure::Discord(post.channel_id, Box::new(e)))?;
                store.advance_notice_posted(release.id, post.channel_id, sent.id.get()).await.map_err(|e| engine(e.into()))?;
            }
        }
        Ok(())
    }
}

impl Notifier {
    /// Posts server `guild`'s board the first time, edits it after.
    pub(super) async fn draw_board(&self, item: &OutboxItem, guild: crate::domain::GuildId) -> Result<(), Failure> {
        let engine = |e: anyhow::Error| Failure::Engine(e);
        let Some((channel, message)) = self.engine.store().board(guild).await.map_err(|e| engine(e.into()))? else { return Ok(()) };
        let releases = self.engine.board_releases(guild).await.map_err(|e| engine(e.into()))?;
        let names = self.names(crate::domain::ReleaseId(0), Some(guild), &[]).await.map_err(Failure::Engine)?;
        let embed = render::board(&releases, &names);
        let discord = |e| Failure::Discord(channel, Box::new(e));
        let posted = match message {
            Some(message) => {
                let edit = serenity::EditMessage::new().embed(embed).allowed_mentions(serenity::CreateAllowedMentions::new());
                to_channel(channel).edit_message(&self.http, serenity::MessageId::new(message.max(1)), edit).await.map_err(discord)?;
                message
            }
            None => {
                let post = serenity::CreateMessage::new()
                    .embed(embed)
                    .allowed_mentions(serenity::CreateAllowedMentions::new())
                    .nonce(super::nonce("board", &[guild.0, item.id as u64]))
                    .enforce_nonce(true);
                to_channel(channel).send_message(&self.http, post).await.map_err(discord)?.id.get()
            }
        };
        self.engine.store().board_drawn(guild, channel, posted).await.map_err(|e| engine(e.into()))?;
        Ok(())
    }
}

impl Notifier {
    /// Posts a server's weekly digest in its channel; pings nobody.
    pub(super) async fn post_digest(&self, item: &OutboxItem, digest: &crate::store::DigestPost) -> Result<(), Failure> {
        let (this, before, shipped) = self.engine.digest(digest.guild_id, digest.at).await.map_err(|e| Failure::Engine(e.into()))?;
        let message = serenity::CreateMessage::new()
            .content(render::digest_text(&this, &before, &shipped))
            .allowed_mentions(serenity::CreateAllowedMentions::new())
            .nonce(super::nonce("digest", &[item.id as u64, digest.channel_id.0]))
            .enforce_nonce(true);
        to_channel(digest.channel_id)
            .send_message(&self.http, message)
            .await
            .map_err(|e| Failure::Discord(digest.channel_id, Box::new(e)))?;
        Ok(())
    }
}
