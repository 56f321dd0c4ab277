//! `/group list|show|pause|resume|skip-next`: release groups, the processes with a cadence.

use super::commands::guild;
use super::{render, BotError, Context};
use crate::domain::planning::cadence;
use crate::engine::GroupView;

/// Release groups: processes whose releases are planned by a cadence
#[poise::command(slash_command, guild_only, subcommands("list", "show", "pause", "resume", "skip_next"), subcommand_required)]
pub async fn group(_ctx: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

fn summary(g: &GroupView) -> String {
    let next = g.next.first().map(|t| format!("next <t:{0}:F> (<t:{0}:R>)", t.timestamp())).unwrap_or_else(|| "no next time".into());
    let paused = g.paused.as_ref().map(|(by, _)| format!(" · ⏸️ paused by {}", render::inert(by))).unwrap_or_default();
    format!(
        "**{}** — {} ({}) · {next} · {} ahead{paused}",
        g.process,
        cadence::describe(&g.cadence).trim_end_matches('.'),
        g.time_zone.name(),
        g.horizon
    )
}

/// List this server's release groups
#[poise::command(slash_command, guild_only)]
async fn list(ctx: Context<'_>) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    super::author_may_view(&ctx).await?;
    let groups = ctx.data().engine.groups(guild_id).await?;
    let text = if groups.is_empty() {
        "No release groups here. A process becomes one with a `cadence:` (like `0 14 * * thu`) and an optional `group:` block.".to_string()
    } else {
        groups.iter().map(summary).collect::<Vec<_>>().join("\n")
    };
    ctx.send(poise::CreateReply::default().content(render::truncate(&text, 2_000)).ephemeral(true)).await?;
    Ok(())
}

/// Show a release group: its cadence, next times and planned releases
#[poise::command(slash_command, guild_only)]
async fn show(
    ctx: Context<'_>,
    #[description = "The group's process"]
    #[autocomplete = "super::autocomplete::process"]
    process: String,
) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    super::author_may_view(&ctx).await?;
    let g = ctx.data().engine.group(guild_id, &process).await?;
    let mut lines = vec![summary(&g)];
    lines.push(format!("Next times: {}", g.next.iter().map(|t| format!("<t:{}:f>", t.timestamp())).collect::<Vec<_>>().join(", ")));
    for o in &g.planned {
        let what = match (o.release, &o.name, &o.status) {
            (Some(id), Some(name), Some(status)) => {
                let status = crate::domain::release::ReleaseStatus::parse(status).map(|s| s.in_words().to_lowercase()).unwrap_or_default();
                format!("Release {id} · {} — {status}", render::inert(name))
            }
            _ => "not created (see the audit trail)".into(),
        };
        lines.push(format!("• {} — {what}", o.key));
    }
    ctx.send(poise::CreateReply::default().content(render::truncate(&lines.join("\n"), 2_000)).ephemeral(true)).await?;
    Ok(())
}

/// Pause a release group: it plans no new releases until resumed
#[poise::command(slash_command, guild_only)]
async fn pause(
    ctx: Context<'_>,
    #[description = "The group's process"]
    #[autocomplete = "super::autocomplete::process"]
    process: String,
) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    let actor = super::author(&ctx).await;
    let changed = ctx.data().engine.pause_group(guild_id, &actor, &process, true).await?;
    let text = if changed {
        format!("⏸️ Release group `{process}` is paused: it plans no new releases. Those already planned stay; `/release unschedule` takes one back.")
    } else {
        format!("Release group `{process}` was already paused.")
    };
    ctx.send(poise::CreateReply::default().content(text).ephemeral(true)).await?;
    Ok(())
}

/// Resume a paused release group
#[poise::command(slash_command, guild_only)]
async fn resume(
    ctx: Context<'_>,
    #[description = "The group's process"]
    #[autocomplete = "super::autocomplete::process"]
    process: String,
) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    let actor = super::author(&ctx).await;
    let changed = ctx.data().engine.pause_group(guild_id, &actor, &process, false).await?;
    let text = if changed {
        format!("▶️ Release group `{process}` plans releases again.")
    } else {
        format!("Release group `{process}` was not paused.")
    };
    ctx.send(poise::CreateReply::default().content(text).ephemeral(true)).await?;
    Ok(())
}

/// Skip a release group's next planned release
#[poise::command(slash_command, guild_only, rename = "skip-next")]
async fn skip_next(
    ctx: Context<'_>,
    #[description = "The group's process"]
    #[autocomplete = "super::autocomplete::process"]
    process: String,
    #[description = "Why, for the audit trail and the channel"]
    #[max_length = 500]
    reason: String,
) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    let actor = super::author(&ctx).await;
    let release = ctx.data().engine.skip_next(guild_id, &actor, &process, &reason).await?;
    let text = format!("⏭️ Skipped **Release {} · {}**; the group goes on with the next one.", release.id, render::inert(&release.name));
    ctx.send(poise::CreateReply::default().content(text).ephemeral(true)).await?;
    Ok(())
}
