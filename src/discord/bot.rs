//! Building the serenity client with the poise framework, pointed at Discord or a compatible API.

use super::custom_id::CustomId;
use super::{buttons, card_controls, commands, create_form, listing, trail, BotError, Data};
use crate::domain::{ChannelId, GuildId};
use crate::engine::Engine;
use poise::serenity_prelude as serenity;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct BotConfig {
    pub token: String,
    /// Base URL of a Discord-compatible API (the sandbox); `None` means Discord itself.
    pub api_base: Option<String>,
    /// Linked from `/trainmaster help`; `None` names the README.
    pub help_url: Option<String>,
}

/// The HTTP client the bot uses for REST calls.
pub fn http_client(config: &BotConfig) -> serenity::Http {
    let builder = serenity::HttpBuilder::new(&config.token);
    match &config.api_base {
        // serenity only honours the proxy with its ratelimiter off (see docs/architecture.md).
        Some(base) => builder.proxy(base.trim_end_matches('/')).ratelimiter_disabled(true).build(),
        None => builder.build(),
    }
}

pub async fn build_client(config: &BotConfig, engine: Engine, gateway_connected: Arc<AtomicBool>) -> anyhow::Result<serenity::Client> {
    let directory_user = engine.clone();
    let options = poise::FrameworkOptions {
        commands: commands(),
        on_error: |error| Box::pin(on_error(error)),
        event_handler: |framework, event| Box::pin(on_event(framework, event)),
        // Nothing the bot says pings anyone unless it names them on purpose.
        allowed_mentions: Some(serenity::CreateAllowedMentions::new()),
        pre_command: |ctx| {
            Box::pin(async move {
                ctx.set_invocation_data(Instant::now()).await;
            })
        },
        post_command: |ctx| {
            Box::pin(async move {
                if let Some(started) = ctx.invocation_data::<Instant>().await {
                    ctx.data().engine.metrics.interaction_seconds.observe(started.elapsed());
                }
            })
        },
        ..Default::default()
    };
    let help_url = config.help_url.clone();
    let framework = poise::Framework::builder()
        .options(options)
        // The builder's flag wins over the options' one: owners are not used, so no
        // GET /oauth2/applications/@me at start.
        .initialize_owners(false)
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                poise::builtins::register_globally(ctx, &framework.options().commands).await?;
                tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected and commands registered");
                gateway_connected.store(true, Ordering::Relaxed);
                Ok(Data { engine, gateway_connected, help_url, pending_creates: Default::default() })
            })
        })
        .build();
    // Do not call ClientBuilder::token() after new_with_http: it would drop the proxy.
    let client = serenity::ClientBuilder::new_with_http(http_client(config), serenity::GatewayIntents::GUILDS).framework(framework).await?;
    directory_user.set_channel_directory(Arc::new(CacheDirectory(client.cache.clone())));
    Ok(client)
}

/// The gateway as `/readyz` sees it: set up once (commands registered) and every shard connected
/// now. Read from the shard manager at each probe, not from a flag: serenity tells stage changes
/// to event handlers only, and a shard that cannot reconnect simply has no runner.
pub struct ShardsGateway {
    pub shards: Arc<serenity::ShardManager>,
    pub set_up: Arc<AtomicBool>,
}

impl crate::http::Gateway for ShardsGateway {
    fn connected(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + '_>> {
        Box::pin(async move {
            let runners = self.shards.runners.lock().await;
            self.set_up.load(Ordering::Relaxed)
                && !runners.is_empty()
                && runners.values().all(|r| r.stage == serenity::ConnectionStage::Connected)
        })
    }
}

/// Channels' servers from the gateway cache (GUILD_CREATE and CHANNEL_* events keep it current).
pub struct CacheDirectory(pub Arc<serenity::Cache>);

impl crate::engine::ChannelDirectory for CacheDirectory {
    fn guild_of(&self, channel: ChannelId) -> Option<GuildId> {
        let id = super::to_channel(channel);
        // A bot is in a handful of servers; threads are kept beside channels, under their guild.
        let holds = |guild: &serenity::Guild| guild.channels.contains_key(&id) || guild.threads.iter().any(|t| t.id == id);
        self.0.guilds().into_iter().find(|g| self.0.guild(*g).is_some_and(|guild| holds(&guild))).map(|g| GuildId(g.get()))
    }

    fn has_guild(&self, guild: GuildId) -> bool {
        self.0.guilds().contains(&super::to_guild(guild))
    }

    fn complete(&self) -> bool {
        self.0.guild_count() > 0 && self.0.unavailable_guilds().len() == 0
    }
}

async fn on_event(framework: poise::FrameworkContext<'_, Data, BotError>, event: &serenity::FullEvent) -> Result<(), BotError> {
    match event {
        serenity::FullEvent::InteractionCreate { interaction: serenity::Interaction::Component(click) } => {
            let started = Instant::now();
            let (ctx, data) = (framework.serenity_context, framework.user_data);
            // One parse, one dispatch (see `custom_id`); an id the bot did not make, or a form's id
            // on a button, gets the requests' handler, which says it is not Trainmaster's.
            match click.data.custom_id.parse::<CustomId>() {
                Ok(CustomId::InputsAgain { .. }) => create_form::on_again(ctx, data, click).await,
                Ok(CustomId::LogPage { .. }) => trail::on_page(ctx, data, click).await,
                Ok(CustomId::ListPage(_)) => listing::on_page(ctx, data, click).await,
                Ok(CustomId::Card { .. }) => card_controls::on_button(ctx, data, click).await,
                Ok(
                    CustomId::Request { .. } | CustomId::RejectReason { .. } | CustomId::CardReason { .. } | CustomId::InputsForm { .. },
                )
                | Err(_) => buttons::on_component(ctx, data, click).await,
            }
            framework.user_data.engine.metrics.interaction_seconds.observe(started.elapsed());
        }
        serenity::FullEvent::InteractionCreate { interaction: serenity::Interaction::Modal(submit) } => {
            let started = Instant::now();
            let (ctx, data) = (framework.serenity_context, framework.user_data);
            match submit.data.custom_id.parse::<CustomId>() {
                Ok(CustomId::InputsForm { .. }) => create_form::on_submit(ctx, data, submit).await,
                Ok(CustomId::RejectReason { .. }) => buttons::on_reject_modal(ctx, data, submit).await,
                // The card's reason form; any other id is answered as not Trainmaster's there.
                Ok(
                    CustomId::CardReason { .. }
                    | CustomId::Card { .. }
                    | CustomId::Request { .. }
                    | CustomId::InputsAgain { .. }
                    | CustomId::LogPage { .. }
                    | CustomId::ListPage(_),
                )
                | Err(_) => card_controls::on_modal(ctx, data, submit).await,
            }
            framework.user_data.engine.metrics.interaction_seconds.observe(started.elapsed());
        }
        serenity::FullEvent::Ready { .. } => framework.user_data.gateway_connected.store(true, Ordering::Relaxed),
        _ => {}
    }
    Ok(())
}

/// The one place command errors become messages: user errors verbatim and ephemeral, internal
/// errors logged with their cause chain and answered with a short apology.
async fn on_error(error: poise::FrameworkError<'_, Data, BotError>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            let names = super::names_in(ctx.serenity_context().cache.as_ref(), ctx.guild_id());
            let text = super::reasons::text_for(Err(error), &format!("/{}", ctx.command().qualified_name), &names);
            if let Err(e) = ctx.send(poise::CreateReply::default().content(text).ephemeral(true)).await {
                tracing::error!(error = %e, "cannot send an error reply");
            }
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::error!(error = %e, "error while handling an error");
            }
        }
    }
}
