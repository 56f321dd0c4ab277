//! `/freeze list|add|end`: the times releases may not start in, for the server's admins and
//! release managers (reading them is for everyone who may read releases).

use super::commands::guild;
use super::{render, BotError, Context, Data};
use crate::domain::planning::freeze::{FreezeOrigin, FreezeSpec};

/// Freeze windows: times releases may not start in
#[poise::command(slash_command, guild_only, subcommands("list", "add", "end"), subcommand_required)]
pub async fn freeze(_ctx: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

/// List the freezes of this server and of its processes
#[poise::command(slash_command, guild_only)]
async fn list(ctx: Context<'_>) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    super::author_may_view(&ctx).await?;
    let engine = &ctx.data().engine;
    let tz = engine.guild_time_zone(guild_id);
    let mut lines = vec![];
    for f in engine.server_freezes(guild_id).await? {
        let origin = match &f.origin {
            FreezeOrigin::Chat { id, by, reason } => format!(" — #{id}, added by {}: {}", render::inert(by), render::inert(reason)),
            FreezeOrigin::Config => " — trainmaster.toml".into(),
            FreezeOrigin::Process { process } => format!(" — process `{process}`"),
        };
        lines.push(format!("🧊 {}{origin}", render::inert(&f.describe(tz))));
    }
    for p in engine.processes_for(guild_id) {
        let ptz = p.time_zone.parse().unwrap_or(chrono_tz::UTC);
        lines.extend(p.freezes.iter().map(|f| format!("🧊 {} — process `{}`", render::inert(&f.describe(ptz)), p.name)));
    }
    let text = if lines.is_empty() {
        "No freezes. Admins add one with `/freeze add`; trainmaster.toml and process files can declare them too.".to_string()
    } else {
        format!("**Freezes** (times in {}):\n{}", tz.name(), lines.join("\n"))
    };
    ctx.send(poise::CreateReply::default().content(render::truncate(&text, 2_000)).ephemeral(true)).await?;
    Ok(())
}

/// Freeze the server (or some environments) from one day or time to another
#[poise::command(slash_command, guild_only)]
async fn add(
    ctx: Context<'_>,
    #[description = "What people call it, like Year-end"]
    #[max_length = 60]
    name: String,
    #[description = "First day (2026-12-20) or time (2026-12-20 18:00), in the server's time zone"]
    #[max_length = 30]
    from: String,
    #[description = "Last day, included (2027-01-04), or end time"]
    #[max_length = 30]
    to: String,
    #[description = "Why, for the audit trail"]
    #[max_length = 500]
    reason: String,
    #[description = "Only these environments, comma-separated, like prod (default: every release)"]
    #[max_length = 200]
    applies_to: Option<String>,
    #[description = "Kinds that may still start, comma-separated, like hotfix"]
    #[max_length = 100]
    allow: Option<String>,
) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    let actor = super::author(&ctx).await;
    let list =
        |s: Option<String>| s.map(|s| s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()).unwrap_or_default();
    let spec =
        FreezeSpec { name, from: Some(from), to: Some(to), cron: None, duration: None, applies_to: list(applies_to), allow: list(allow) };
    let data: &Data = ctx.data();
    let freeze = data.engine.add_freeze(guild_id, &actor, spec, &reason).await?;
    let tz = data.engine.guild_time_zone(guild_id);
    let id = match freeze.origin {
        FreezeOrigin::Chat { id, .. } => id,
        _ => 0,
    };
    let text = format!("🧊 Freeze #{id} added: {}. End it early with `/freeze end id:{id}`.", render::inert(&freeze.describe(tz)));
    ctx.send(poise::CreateReply::default().content(text).ephemeral(true)).await?;
    Ok(())
}

/// End a freeze added in chat (declared ones end by editing their file)
#[poise::command(slash_command, guild_only)]
async fn end(ctx: Context<'_>, #[description = "The freeze's number, from /freeze list"] id: i64) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    let actor = super::author(&ctx).await;
    let freeze = ctx.data().engine.end_freeze(guild_id, &actor, id).await?;
    let text = format!("Freeze #{id} “{}” is over; releases may start again.", render::inert(&freeze.name));
    ctx.send(poise::CreateReply::default().content(text).ephemeral(true)).await?;
    Ok(())
}
