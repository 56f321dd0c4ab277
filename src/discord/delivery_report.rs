//! When Discord refuses a notice for good (the bot may not post in a channel, or the channel is
//! gone), the release goes on and the delivery is set aside, and someone must hear of it: the
//! release manager (the process's `owners.release_manager` when it is a person, else whoever
//! created the release) gets a direct message saying where and why, once per release and
//! channel while the bot runs (a broken channel must not turn every notice into a message).

use super::render;
use crate::domain::principal::Principal;
use crate::domain::release::ReleaseId;
use crate::engine::Engine;
use poise::serenity_prelude as serenity;
use serde_json::json;
use std::collections::HashSet;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Reporter {
    reported: Mutex<HashSet<(ReleaseId, crate::domain::ChannelId)>>,
}

impl Reporter {
    pub async fn report(
        &self,
        engine: &Engine,
        http: &serenity::Http,
        release_id: ReleaseId,
        channel: crate::domain::ChannelId,
        error: &str,
    ) {
        if !self.reported.lock().unwrap_or_else(|p| p.into_inner()).insert((release_id, channel)) {
            return;
        }
        let release = match engine.release_in_any_guild(release_id).await {
            Ok(release) => release,
            Err(e) => return tracing::warn!(error = %e, "cannot report a refused notice"),
        };
        let to = match &release.process.release_manager {
            Some(Principal::User(user)) => user.0,
            _ => match release.created_by.person() {
                Some(user) => user.0,
                None => return, // created by CI: nobody to write to; the trail has it
            },
        };
        let text = format!(
            "⚠️ Release **{} · {}**: Trainmaster could not post in <#{channel}>: {}. Check that the bot may view that channel, send messages and create threads there. The release goes on; `/release status release:{}` shows where it is.",
            release.id,
            render::inert(&release.name),
            render::inert(error),
            release.id
        );
        let message = serenity::CreateMessage::new()
            .content(render::truncate(&text, render::CONTENT_LIMIT))
            .allowed_mentions(serenity::CreateAllowedMentions::new());
        let sent = match serenity::UserId::new(to).create_dm_channel(http).await {
            Ok(dm) => dm.send_message(http, message).await.map(|_| ()),
            Err(e) => Err(e),
        };
        match sent {
            Ok(()) => {
                let detail = json!({"channel": channel, "to": to, "error": error});
                if let Err(e) = engine.record(Some(release.id), "delivery_problem_reported", &detail).await {
                    tracing::warn!(error = %e, "cannot record the report of a refused notice");
                }
            }
            Err(e) => tracing::warn!(error = %e, to, "cannot tell the release manager about a refused notice"),
        }
    }
}
