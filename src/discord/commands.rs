//! `/release create|edit|delete|start|status|log|hold|resume|abort|retry|skip`; `/release list`
//! lives in `listing`, `/release schedule|unschedule` in `planning`, `/process` in `processes`.

use super::render;
use super::{create_form, BotError, Context, Data};
use crate::domain::inputs::parse_pairs;
use crate::domain::inputs::InputError;
use crate::domain::release::ReleaseId;
use crate::domain::{ChannelId, GuildId};
use crate::engine::{Control, EngineError, NewRelease};

pub fn commands() -> Vec<poise::Command<Data, BotError>> {
    vec![
        release(),
        super::processes::process(),
        super::delegation::delegate(),
        super::help::trainmaster(),
        super::freezes::freeze(),
        super::groups::group(),
        super::insight::deployed(),
        super::insight::metrics(),
    ]
}

/// Create, start and follow releases
#[poise::command(
    slash_command,
    guild_only,
    subcommands(
        "create",
        "edit",
        "delete",
        "start",
        "super::planning::schedule",
        "super::planning::unschedule",
        "super::planning::calendar",
        "super::insight::report",
        "super::insight::board",
        "status",
        "super::listing::list",
        "log",
        "hold",
        "resume",
        "abort",
        "retry",
        "skip"
    ),
    subcommand_required
)]
async fn release(_ctx: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

pub(super) fn guild(ctx: &Context<'_>) -> Result<GuildId, BotError> {
    super::guild_of(ctx.guild_id())
}

pub(crate) fn release_id(text: &str) -> Result<ReleaseId, BotError> {
    text.parse().map_err(BotError::User)
}

/// Create a Draft release of a process, with its inputs
#[poise::command(slash_command, guild_only)]
async fn create(
    ctx: Context<'_>,
    #[description = "Process to release (a file in processes/)"]
    #[autocomplete = "super::autocomplete::process"]
    process: String,
    #[description = "A name people will recognise, like \"Week 47\""]
    #[max_length = 100]
    name: String,
    #[description = "key=value pairs: version=1.4.0 services=api,web notes=\"Fixes checkout\""]
    #[max_length = 4000]
    #[autocomplete = "super::autocomplete::inputs"]
    inputs: Option<String>,
    #[description = "A named input set of the process to start from; inputs given here win"]
    #[max_length = 40]
    input_set: Option<String>,
    #[description = "Plan its start: 2026-12-10 14:00 (process time zone), thu 14:00, or RFC 3339"]
    #[max_length = 40]
    at: Option<String>,
    #[description = "Release managers: schedule it although it overlaps others, and why"]
    #[max_length = 500]
    despite_conflicts: Option<String>,
) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    let actor = super::author(&ctx).await;
    let inputs = parse_pairs(inputs.as_deref().unwrap_or_default()).map_err(|e| BotError::User(e.to_string()))?;
    let new = NewRelease { guild_id, process, name, inputs, input_set, channel: Some(ChannelId(ctx.channel_id().get())) };
    if let Some(at) = at {
        // Planned releases are complete: no form for missing inputs, the refusal names them.
        let scheduled = ctx.data().engine.create_scheduled(&actor, new, &at, despite_conflicts.as_deref()).await?;
        return super::planning::answer_scheduled(&ctx, &scheduled).await;
    }
    let release = match ctx.data().engine.create_release(&actor, new.clone()).await {
        // Required inputs missing (and nothing wrong before them): ask for them in a form. More
        // than a form holds: the error names the first, for the `inputs` text.
        Err(e @ EngineError::Inputs(InputError::Missing { .. })) => {
            let missing = ctx.data().engine.missing_inputs(&new);
            let poise::Context::Application(app) = ctx else { return Err(e.into()) };
            if missing.is_empty() || missing.len() > create_form::FIELDS_PER_FORM {
                return Err(e.into());
            }
            let key = app.interaction.id.to_string();
            let form = create_form::ask(ctx.data(), &key, actor.user.0, new, missing);
            app.interaction.create_response(ctx.http(), form).await?;
            return Ok(());
        }
        other => other?,
    };
    // Only for its creator: a public Draft card would stay in the channel, frozen, long after
    // the release ended; the live card appears in the notices channel when it starts.
    let card = card(&ctx, &release).await?;
    ctx.send(poise::CreateReply::default().content(render::draft_card_note(&release)).embed(card).ephemeral(true)).await?;
    Ok(())
}

/// Change a Draft release's name or inputs (given inputs replace those values only)
#[poise::command(slash_command, guild_only)]
async fn edit(
    ctx: Context<'_>,
    #[description = "Release id, like 42"]
    #[autocomplete = "super::autocomplete::release"]
    release: String,
    #[description = "A new name"]
    #[max_length = 100]
    name: Option<String>,
    #[description = "key=value pairs to change: version=1.4.1"]
    #[max_length = 4000]
    inputs: Option<String>,
) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    let id = release_id(&release)?;
    if name.is_none() && inputs.is_none() {
        return Err(BotError::User("Nothing to change: give a new `name`, `inputs`, or both.".into()));
    }
    let pairs = inputs.as_deref().map(parse_pairs).transpose().map_err(|e| BotError::User(e.to_string()))?;
    let actor = super::author(&ctx).await;
    let release = ctx.data().engine.edit_draft(guild_id, &actor, id, name.as_deref(), pairs).await?;
    ctx.send(poise::CreateReply::default().embed(card(&ctx, &release).await?).ephemeral(true)).await?;
    Ok(())
}

/// Delete a Draft release (admins: also an archived one, with a reason)
#[poise::command(slash_command, guild_only)]
async fn delete(
    ctx: Context<'_>,
    #[description = "Release id, like 42"]
    #[autocomplete = "super::autocomplete::release"]
    release: String,
    #[description = "Admins deleting an archived release: why (kept in the audit trail)"]
    #[max_length = 500]
    reason: Option<String>,
) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    let id = release_id(&release)?;
    let actor = super::author(&ctx).await;
    let engine = &ctx.data().engine;
    if engine.is_archived(id).await? {
        let release = engine.delete_archived(guild_id, &actor, id, reason.as_deref().unwrap_or_default()).await?;
        let text =
            format!("Deleted archived release {} · {}. The audit trail keeps a tombstone of it.", release.id, render::inert(&release.name));
        ctx.send(poise::CreateReply::default().content(text).ephemeral(true)).await?;
        return Ok(());
    }
    let release = engine.delete_draft(guild_id, &actor, id).await?;
    let text = format!("Deleted Draft release {} · {}. The audit trail keeps what it was.", release.id, render::inert(&release.name));
    ctx.send(poise::CreateReply::default().content(text).ephemeral(true)).await?;
    Ok(())
}

/// Start a Draft or scheduled release now: its phases run and the notices channel follows along
#[poise::command(slash_command, guild_only)]
async fn start(
    ctx: Context<'_>,
    #[description = "Release id, like 42"]
    #[autocomplete = "super::autocomplete::release"]
    release: String,
    #[description = "Admins: start it although a freeze holds, and why (audited, announced)"]
    #[max_length = 500]
    override_freeze: Option<String>,
) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    let id = release_id(&release)?;
    let actor = super::author(&ctx).await;
    let release = ctx.data().engine.start_release_overriding(guild_id, &actor, id, override_freeze.as_deref()).await?;
    let channel = release.process.notices_channel.map(|c| c.0).unwrap_or_default();
    // One line, not a card: a card here would freeze as Running while the live one moves on.
    let reply = if render::in_card_channel(&release, ChannelId(ctx.channel_id().get())) {
        let text = format!("Started **Release {} · {}**. Its live card follows here.", release.id, render::inert(&release.name));
        poise::CreateReply::default().content(text).ephemeral(true)
    } else {
        let text = format!(
            "🚀 **Release {} · {}** started by <@{}>. Follow it in <#{channel}>.",
            release.id,
            render::inert(&release.name),
            actor.user.0
        );
        poise::CreateReply::default().content(text).allowed_mentions(poise::serenity_prelude::CreateAllowedMentions::new())
    };
    ctx.send(reply).await?;
    Ok(())
}

/// Show a release with each phase and activity and its status
#[poise::command(slash_command, guild_only)]
async fn status(
    ctx: Context<'_>,
    #[description = "Release id, like 42"]
    #[autocomplete = "super::autocomplete::release"]
    release: String,
) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    let id = release_id(&release)?;
    super::author_may_view(&ctx).await?;
    let release = ctx.data().engine.release(guild_id, id).await?;
    let full = super::card_for(ctx.serenity_context().cache.as_ref(), ctx.data(), ctx.guild_id(), &release, render::Detail::Full).await?;
    ctx.send(poise::CreateReply::default().embed(full).ephemeral(true)).await?;
    Ok(())
}

/// Show the audit trail of a release: who did what, when
#[poise::command(slash_command, guild_only)]
async fn log(
    ctx: Context<'_>,
    #[description = "Release id, like 42"]
    #[autocomplete = "super::autocomplete::release"]
    release: String,
    #[description = "Show what each entry recorded under it (default: no)"] details: Option<bool>,
) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    let id = release_id(&release)?;
    super::author_may_view(&ctx).await?;
    let (release, rows) = ctx.data().engine.audit_trail(guild_id, id).await?;
    let (text, buttons) = super::trail::page(&release, &rows, 0, details.unwrap_or(false));
    ctx.send(poise::CreateReply::default().content(text).components(buttons).ephemeral(true)).await?;
    Ok(())
}

/// The release's card for an answer.
pub(super) async fn card(ctx: &Context<'_>, release: &crate::domain::Release) -> Result<poise::serenity_prelude::CreateEmbed, BotError> {
    super::card_for(ctx.serenity_context().cache.as_ref(), ctx.data(), ctx.guild_id(), release, render::Detail::Live).await
}

/// Applies an operator's command and answers with the release as it now is.
async fn control(ctx: Context<'_>, release: &str, command: Control) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    let id = release_id(release)?;
    let actor = super::author(&ctx).await;
    let release = ctx.data().engine.control(guild_id, &actor, id, command).await?;
    ctx.send(poise::CreateReply::default().embed(card(&ctx, &release).await?).ephemeral(true)).await?;
    Ok(())
}

/// Hold a running release: nothing new starts until it is resumed
#[poise::command(slash_command, guild_only)]
async fn hold(
    ctx: Context<'_>,
    #[description = "Release id, like 42"]
    #[autocomplete = "super::autocomplete::release"]
    release: String,
    #[description = "Why, for the audit trail and the channel"]
    #[max_length = 500]
    reason: String,
) -> Result<(), BotError> {
    control(ctx, &release, Control::Hold { reason }).await
}

/// Resume a held release
#[poise::command(slash_command, guild_only)]
async fn resume(
    ctx: Context<'_>,
    #[description = "Release id, like 42"]
    #[autocomplete = "super::autocomplete::release"]
    release: String,
) -> Result<(), BotError> {
    control(ctx, &release, Control::Resume).await
}

/// Abort a release: what runs is stopped and it ends Aborted
#[poise::command(slash_command, guild_only)]
async fn abort(
    ctx: Context<'_>,
    #[description = "Release id, like 42"]
    #[autocomplete = "super::autocomplete::release"]
    release: String,
    #[description = "Why, for the audit trail and the channel"]
    #[max_length = 500]
    reason: String,
) -> Result<(), BotError> {
    control(ctx, &release, Control::Abort { reason }).await
}

/// Run a failed activity again (fix-and-continue)
#[poise::command(slash_command, guild_only)]
async fn retry(
    ctx: Context<'_>,
    #[description = "Release id, like 42"]
    #[autocomplete = "super::autocomplete::release"]
    release: String,
    #[description = "The failed activity's id, like deploy"]
    #[autocomplete = "super::autocomplete::activity"]
    #[max_length = 40]
    activity: String,
) -> Result<(), BotError> {
    control(ctx, &release, Control::Retry { activity }).await
}

/// Skip a failed activity and go on (the release can then end partly shipped at best)
#[poise::command(slash_command, guild_only)]
async fn skip(
    ctx: Context<'_>,
    #[description = "Release id, like 42"]
    #[autocomplete = "super::autocomplete::release"]
    release: String,
    #[description = "The failed activity's id, like deploy"]
    #[autocomplete = "super::autocomplete::activity"]
    #[max_length = 40]
    activity: String,
    #[description = "Why, for the audit trail"]
    #[max_length = 500]
    reason: String,
) -> Result<(), BotError> {
    control(ctx, &release, Control::Skip { activity, reason }).await
}
