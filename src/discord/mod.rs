//! Discord adapter: slash commands (poise), buttons (serenity interaction events), and the
//! notifier that posts outbox messages. Thin: parse → call the engine → render.

mod autocomplete;
mod bot;
mod buttons;
mod card_controls;
mod commands;
mod create_form;
pub mod custom_id;
mod delegation;
mod delivery_report;
mod freezes;
mod groups;
mod help;
mod insight;
mod listing;
mod notifier;
mod planning;
mod process_view;
mod processes;
mod reasons;
pub mod render;
mod trail;

pub use bot::{build_client, http_client, BotConfig, ShardsGateway};
pub use commands::commands;
pub use notifier::Notifier;

use crate::domain::principal::Actor;
use crate::domain::{ChannelId, GuildId, UserId};
use crate::engine::{Engine, EngineError};
use poise::serenity_prelude as serenity;

/// Shared state of the bot's handlers.
pub struct Data {
    pub engine: Engine,
    /// Linked from `/trainmaster help`.
    pub help_url: Option<String>,
    /// Read by /readyz.
    pub gateway_connected: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// `/release create` requests waiting for their inputs form.
    pub pending_creates: create_form::PendingCreates,
}

/// An error from a command or button. `User` errors are shown to the person, ephemeral;
/// `Internal` ones are logged with their cause chain and the person gets a short apology.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("{0}")]
    User(String),
    /// A refusal that names principals: worded where the server's roles are at hand, so roles
    /// read as mentions.
    #[error("{}", (.0)(&render::Names::default()))]
    Named(Named),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Words that name principals, given the server's roles.
#[derive(Clone)]
pub struct Named(std::sync::Arc<dyn Fn(&render::Names) -> String + Send + Sync>);

impl std::ops::Deref for Named {
    type Target = dyn Fn(&render::Names) -> String + Send + Sync;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl std::fmt::Debug for Named {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Named({})", (self.0)(&render::Names::default()))
    }
}

impl From<EngineError> for BotError {
    fn from(e: EngineError) -> Self {
        use crate::domain::approval::Refusal;
        use crate::domain::release::CommandError;
        match e {
            EngineError::Store(inner) => BotError::Internal(anyhow::Error::new(inner).context("storage failed")),
            // Each reader sees the opening time in their own time zone.
            EngineError::Command(CommandError::Refused(Refusal::Locked { opens_at })) => BotError::User(format!(
                "This approval is time-locked: decisions open <t:{0}:F> (<t:{0}:R>). Come back then.",
                opens_at.timestamp()
            )),
            EngineError::Command(CommandError::Denied(denied)) => {
                BotError::Named(Named(std::sync::Arc::new(move |names: &render::Names| denied_text(&denied, names))))
            }
            EngineError::Command(CommandError::Refused(Refusal::NotAnApprover { level, approvers })) => {
                BotError::Named(Named(std::sync::Arc::new(move |names: &render::Names| {
                    let who: Vec<String> = approvers.iter().map(|p| names.mention(p)).collect();
                    sentence(&format!("you are not an approver {level}; it needs {}", render::words::or_list(&who)))
                })))
            }
            other => BotError::User(sentence(&other.to_string())),
        }
    }
}

/// A refusal as one sentence, each principal named once, as a mention: "Holding, resuming,
/// aborting, retrying or skipping is for <@&1>, <@&2> (this process's release manager) or the
/// release's creator."
fn denied_text(denied: &crate::domain::access::Denied, names: &render::Names) -> String {
    use crate::domain::access::Who;
    let who: Vec<String> = denied
        .who
        .iter()
        .map(|w| match w {
            Who::Principal(p) => names.mention(p),
            Who::ProcessReleaseManager(p) => format!("{} (this process's release manager)", names.mention(p)),
            Who::Creator => "the release's creator".into(),
        })
        .collect();
    let who = if who.is_empty() { "no one".to_string() } else { render::words::or_list(&who) };
    sentence(&format!("{} is for {who}", denied.what))
}

/// Capitalised and ending with a full stop, as chat answers read.
fn sentence(text: &str) -> String {
    let mut chars = text.trim().chars();
    let mut out: String = chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
    if !out.ends_with(['.', '!', '?', ')', '`']) {
        out.push('.');
    }
    out
}

impl From<serenity::Error> for BotError {
    fn from(e: serenity::Error) -> Self {
        BotError::Internal(anyhow::Error::new(e).context("Discord request failed"))
    }
}

pub type Context<'a> = poise::Context<'a, Data, BotError>;

/// What to tell a person when something broke on our side.
pub const INTERNAL_ERROR_TEXT: &str =
    "Something went wrong on Trainmaster's side; nothing was changed. The operators have the details in the log.";

/// The guild an interaction came from; releases live in one.
fn guild_of(guild_id: Option<serenity::GuildId>) -> Result<GuildId, BotError> {
    guild_id.map(|g| GuildId(g.get())).ok_or_else(|| BotError::User("Releases live in a server; use this in one.".into()))
}

/// A channel of the domain as serenity's. Serenity's ids cannot be 0: an id that never came from
/// Discord becomes 1, which Discord answers as unknown, never as somebody else's channel.
pub(crate) fn to_channel(id: ChannelId) -> serenity::ChannelId {
    serenity::ChannelId::new(id.0.max(1))
}

/// A server of the domain as serenity's (see `to_channel`).
pub(crate) fn to_guild(id: GuildId) -> serenity::GuildId {
    serenity::GuildId::new(id.0.max(1))
}

/// The person acting, with the names of their roles in this guild (approvers may be named by role).
pub async fn actor_of(
    ctx: &serenity::Context,
    guild_id: Option<serenity::GuildId>,
    user: &serenity::User,
    member: Option<&serenity::Member>,
) -> Actor {
    let mut roles = vec![];
    if let (Some(guild_id), Some(member)) = (guild_id, member) {
        let names = role_names(ctx, guild_id).await;
        roles = member
            .roles
            .iter()
            .map(|r| (r.get(), names.iter().find(|(id, _)| id == r).map(|(_, n)| n.clone()).unwrap_or_default()))
            .collect();
    }
    let display_name =
        member.map(|m| m.display_name().to_string()).unwrap_or_else(|| user.global_name.clone().unwrap_or_else(|| user.name.clone()));
    Actor { user: UserId(user.id.get()), display_name, roles }
}

/// The person who ran a slash command.
async fn author(ctx: &Context<'_>) -> Actor {
    let member = ctx.author_member().await;
    actor_of(ctx.serenity_context(), ctx.guild_id(), ctx.author(), member.as_deref()).await
}

/// Refuses reading releases when the guild restricts it to viewers and the person is none.
/// Works out who they are (their roles) only then: reads are the busiest interactions.
async fn may_view(
    ctx: &serenity::Context,
    data: &Data,
    guild_id: Option<serenity::GuildId>,
    user: &serenity::User,
    member: Option<&serenity::Member>,
) -> Result<(), BotError> {
    let guild = guild_of(guild_id)?;
    if data.engine.restricts_viewing(guild) {
        data.engine.may_view(guild, &actor_of(ctx, guild_id, user, member).await)?;
    }
    Ok(())
}

/// `may_view` for the person who ran a slash command.
async fn author_may_view(ctx: &Context<'_>) -> Result<(), BotError> {
    let member = ctx.author_member().await;
    may_view(ctx.serenity_context(), ctx.data(), ctx.guild_id(), ctx.author(), member.as_deref()).await
}

/// The server's roles (id, name) as the gateway's cache holds them; `None` when it lacks the server.
fn cached_roles(cache: &serenity::Cache, guild_id: serenity::GuildId) -> Option<Vec<(u64, String)>> {
    cache.guild(guild_id).map(|g| g.roles.values().map(|r| (r.id.get(), r.name.clone())).collect())
}

/// The server's roles from the gateway's cache, to show principals as mentions.
pub fn names_in(cache: &serenity::Cache, guild_id: Option<serenity::GuildId>) -> render::Names {
    render::Names::new(guild_id.and_then(|g| cached_roles(cache, g)).unwrap_or_default())
}

/// When a release started and ended, for its card: read only once it has ended (only then does
/// the card show times).
async fn card_timing(engine: &crate::engine::Engine, release: &crate::domain::Release) -> Result<render::Timing, crate::store::StoreError> {
    let mut timing = if release.status.is_finished() { release_timing(engine, release.id).await? } else { render::Timing::default() };
    if release.schedule.is_some() && !release.status.is_finished() {
        timing.advance_notice = engine
            .store()
            .advance_notice(release.id)
            .await?
            .map(|(channel, message)| format!("https://discord.com/channels/{}/{channel}/{message}", release.guild_id));
    }
    Ok(timing)
}

/// When release `id` last started and when it ended, from its trail.
async fn release_timing(engine: &crate::engine::Engine, id: crate::domain::ReleaseId) -> Result<render::Timing, crate::store::StoreError> {
    let (started, ended) = engine.store().release_times(id).await?;
    Ok(render::Timing::from_times(started.as_deref(), ended.as_deref()))
}

/// A release's card as a command answers with it: mentions from the cache, times from its trail.
pub async fn card_for(
    cache: &serenity::Cache,
    data: &Data,
    guild_id: Option<serenity::GuildId>,
    release: &crate::domain::Release,
    detail: render::Detail,
) -> Result<serenity::CreateEmbed, BotError> {
    let timing = card_timing(&data.engine, release).await.map_err(|e| BotError::Internal(e.into()))?;
    let names = names_in(cache, guild_id);
    Ok(match detail {
        render::Detail::Live => render::release_card(release, &names, &timing),
        render::Detail::Full => render::release_status(release, &names, &timing),
    })
}

/// Role names of a guild: from the cache (filled by GUILD_CREATE), else from the API.
async fn role_names(ctx: &serenity::Context, guild_id: serenity::GuildId) -> Vec<(serenity::RoleId, String)> {
    if let Some(guild) = ctx.cache.guild(guild_id) {
        return guild.roles.iter().map(|(id, r)| (*id, r.name.clone())).collect();
    }
    match guild_id.roles(&ctx.http).await {
        Ok(roles) => roles.into_iter().map(|(id, r)| (id, r.name)).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read guild roles; role names will not match");
            vec![]
        }
    }
}
