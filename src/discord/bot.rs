//! Building the serenity client with the poise framework, pointed at Discord or a compatible API.

use super::{buttons, commands, BotError, Data, INTERNAL_ERROR_TEXT};
use crate::engine::Engine;
use poise::serenity_prelude as serenity;

#[derive(Clone, Debug)]
pub struct BotConfig {
    pub token: String,
    /// Base URL of a Discord-compatible API (the sandbox); `None` means Discord itself.
    pub api_base: Option<String>,
}

/// The HTTP client the bot uses for REST calls.
pub fn http_client(config: &BotConfig) -> serenity::Http {
    let builder = serenity::HttpBuilder::new(&config.token);
    match &config.api_base {
        // serenity only honours the proxy with its ratelimiter off (see DESIGN.md).
        Some(base) => builder.proxy(base.trim_end_matches('/')).ratelimiter_disabled(true).build(),
        None => builder.build(),
    }
}

pub async fn build_client(config: &BotConfig, engine: Engine) -> anyhow::Result<serenity::Client> {
    let options = poise::FrameworkOptions {
        commands: commands(),
        on_error: |error| Box::pin(on_error(error)),
        event_handler: |framework, event| Box::pin(on_event(framework, event)),
        // Nothing the bot says pings anyone unless it names them on purpose.
        allowed_mentions: Some(serenity::CreateAllowedMentions::new()),
        initialize_owners: false,
        ..Default::default()
    };
    let framework = poise::Framework::builder()
        .options(options)
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                poise::builtins::register_globally(ctx, &framework.options().commands).await?;
                tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected and commands registered");
                Ok(Data { engine })
            })
        })
        .build();
    // Do not call ClientBuilder::token() after new_with_http: it would drop the proxy.
    let client = serenity::ClientBuilder::new_with_http(http_client(config), serenity::GatewayIntents::GUILDS)
        .framework(framework)
        .await?;
    Ok(client)
}

async fn on_event(framework: poise::FrameworkContext<'_, Data, BotError>, event: &serenity::FullEvent) -> Result<(), BotError> {
    if let serenity::FullEvent::InteractionCreate {
        interaction: serenity::Interaction::Component(click),
    } = event
    {
        buttons::on_component(framework.serenity_context, framework.user_data, click).await;
    }
    Ok(())
}

/// The one place command errors become messages: user errors verbatim and ephemeral, internal
/// errors logged with their cause chain and answered with a short apology.
async fn on_error(error: poise::FrameworkError<'_, Data, BotError>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            let text = match &error {
                BotError::User(text) => text.clone(),
                BotError::Internal(e) => {
                    tracing::error!(error = ?e, command = %ctx.command().qualified_name, "command failed");
                    INTERNAL_ERROR_TEXT.to_string()
                }
            };
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
