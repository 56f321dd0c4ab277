//! `/process list|show|check`: what the loaded processes are, and whether a file is valid.

use super::{process_view, BotError, Context};
use crate::domain::process_file;
use crate::domain::GuildId;
use poise::serenity_prelude as serenity;

/// Process files are small; anything larger is refused before it is downloaded.
const MAX_UPLOAD_BYTES: u32 = 256 * 1024;

/// See the processes releases are made from, and check process files
#[poise::command(slash_command, guild_only, subcommands("list", "show", "check"), subcommand_required)]
pub async fn process(_ctx: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

/// List the processes releases can be created from
#[poise::command(slash_command, guild_only)]
async fn list(ctx: Context<'_>) -> Result<(), BotError> {
    let guild = GuildId(ctx.guild_id().map_or(0, |g| g.get()));
    let text = process_view::list(&ctx.data().engine.processes_for(guild).collect::<Vec<_>>());
    ctx.send(poise::CreateReply::default().content(text).ephemeral(true)).await?;
    Ok(())
}

/// Show a process: its inputs, phases and activities
#[poise::command(slash_command, guild_only)]
async fn show(
    ctx: Context<'_>,
    #[description = "Process name, like weekly-production"]
    #[autocomplete = "super::autocomplete::process"]
    process: String,
) -> Result<(), BotError> {
    let guild = GuildId(ctx.guild_id().map_or(0, |g| g.get()));
    let engine = &ctx.data().engine;
    let found = engine.process_for(guild, process.trim()).ok_or_else(|| unknown_process(engine.processes_for(guild), &process))?;
    ctx.send(
        poise::CreateReply::default()
            .embed(process_view::show(
                found,
                &super::names_in(ctx.serenity_context().cache.as_ref(), ctx.guild_id()),
                ctx.data().engine.now(),
            ))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

fn unknown_process<'a>(visible: impl Iterator<Item = &'a crate::domain::Process>, name: &str) -> BotError {
    let known: Vec<String> = visible.map(|p| format!("`{}`", p.name)).collect();
    BotError::User(format!("There is no process `{}`; known processes: {}.", super::render::inert(name.trim()), known.join(", ")))
}

/// Check a process file (YAML) and get the same messages as `trainmaster check`
#[poise::command(slash_command, guild_only)]
async fn check(ctx: Context<'_>, #[description = "The process file (.yaml)"] file: serenity::Attachment) -> Result<(), BotError> {
    if file.size > MAX_UPLOAD_BYTES {
        return Err(BotError::User(format!(
            "`{}` is {} KiB; process files may be at most {} KiB.",
            super::render::inert(&file.filename),
            file.size / 1024,
            MAX_UPLOAD_BYTES / 1024
        )));
    }
    ctx.defer_ephemeral().await?;
    let bytes = file.download().await.map_err(|e| BotError::User(format!("Could not download the file from Discord ({e}); try again.")))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        BotError::User(format!("`{}` is not UTF-8 text; upload the YAML file itself.", super::render::inert(&file.filename)))
    })?;
    let result = process_file::check_against(ctx.data().engine.catalog(), &file.filename, &text);
    let report = process_file::report(&result);
    ctx.send(poise::CreateReply::default().content(process_view::check_report(&report, result.is_ok())).ephemeral(true)).await?;
    Ok(())
}
