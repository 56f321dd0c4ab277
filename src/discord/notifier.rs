//! Posts outbox chat messages to Discord, at least once. The outbox row id goes out as the
//! message nonce with `enforce_nonce`, so a re-post after a crash within Discord's nonce window
//! returns the first message instead of a duplicate.

use super::render;
use crate::engine::{drain_loop, Engine, NextTask, Shutdown};
use crate::store::{ChatMessage, OutboxItem, Topic};
use poise::serenity_prelude as serenity;
use std::sync::Arc;
use std::time::Duration;

pub struct Notifier {
    engine: Engine,
    http: Arc<serenity::Http>,
    next: NextTask,
}

impl Notifier {
    pub fn new(engine: Engine, http: Arc<serenity::Http>) -> Self {
        Self { engine, http, next: NextTask::default() }
    }

    /// Posts one due message, if any.
    pub async fn try_execute_task(&self) -> anyhow::Result<bool> {
        let Some(item) = self.engine.claim_chat(&self.next).await? else {
            return Ok(false);
        };
        let message: ChatMessage = match serde_json::from_value(item.payload.clone()) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(key = %item.key, error = %e, "unreadable chat row; it is set aside");
                self.engine.set_aside(&item, &format!("unreadable payload: {e}")).await?;
                return Ok(true);
            }
        };
        match self.post(&item, &message).await {
            Ok(()) => self.next.carry(self.engine.chat_delivered(&item).await?),
            Err(e) if is_permanent(&e) => {
                // Retrying cannot fix a missing channel or permission: record it for the
                // operators and move on; the release itself is unaffected.
                tracing::error!(key = %item.key, channel = message.channel_id, error = %e, "Discord refused a notice; it is set aside");
                self.engine.set_aside(&item, &format!("Discord refused the message in channel {}: {e}", message.channel_id)).await?;
            }
            Err(e) => {
                let delay = Duration::from_secs(2u64.saturating_pow(item.claims.clamp(1, 8) as u32));
                tracing::warn!(key = %item.key, error = %e, retry_in = ?delay, "cannot post a notice; will retry");
                self.engine.chat_failed(&item, delay, &e.to_string()).await?;
            }
        }
        Ok(true)
    }

    /// Posts one notice.
    async fn post(&self, item: &OutboxItem, message: &ChatMessage) -> Result<(), serenity::Error> {
        let channel = serenity::ChannelId::new(message.channel_id.max(1));
        let builder = render::notice_message(message).nonce(serenity::Nonce::String(format!("tm{}", item.id))).enforce_nonce(true);
        channel.send_message(&self.http, builder).await?;
        Ok(())
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) {
        let (wake, store) = (self.engine.chat_wake.clone(), self.engine.store().clone());
        drain_loop(shutdown, wake, store, Topic::Chat, || self.try_execute_task()).await;
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
