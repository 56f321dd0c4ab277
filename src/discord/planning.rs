//! `/release schedule|unschedule|calendar`: planned starts and the plan of the server.

use super::commands::{card, guild, release_id};
use super::{render, BotError, Context};
use crate::engine::Scheduled;
use chrono::{DateTime, Datelike, TimeZone, Utc};
use poise::serenity_prelude as serenity;

/// Plan when a Draft starts (or move a scheduled one): it then starts by itself, as you
#[poise::command(slash_command, guild_only)]
pub async fn schedule(
    ctx: Context<'_>,
    #[description = "Release id, like 42"]
    #[autocomplete = "super::autocomplete::release"]
    release: String,
    #[description = "When: 2026-12-10 14:00 (process time zone), thu 14:00, or RFC 3339"]
    #[max_length = 40]
    at: String,
    #[description = "Release managers: schedule it although it overlaps others, and why"]
    #[max_length = 500]
    despite_conflicts: Option<String>,
) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    let id = release_id(&release)?;
    let actor = super::author(&ctx).await;
    let scheduled = ctx.data().engine.schedule_release(guild_id, &actor, id, &at, despite_conflicts.as_deref()).await?;
    answer_scheduled(&ctx, &scheduled).await
}

/// Take a scheduled release's planned start back: it becomes a Draft again
#[poise::command(slash_command, guild_only)]
pub async fn unschedule(
    ctx: Context<'_>,
    #[description = "Release id, like 42"]
    #[autocomplete = "super::autocomplete::release"]
    release: String,
    #[description = "Why, for the audit trail and the channel"]
    #[max_length = 500]
    reason: String,
) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    let id = release_id(&release)?;
    let actor = super::author(&ctx).await;
    let release = ctx.data().engine.unschedule_release(guild_id, &actor, id, &reason).await?;
    let text = format!(
        "↩️ **Release {} · {}** is a Draft again; its planned start is taken back. `/release schedule` plans it again.",
        release.id,
        render::inert(&release.name)
    );
    ctx.send(poise::CreateReply::default().content(text).embed(card(&ctx, &release).await?).ephemeral(true)).await?;
    Ok(())
}

/// Answers a schedule (or a create with `at:`) privately: when, in the reader's own time zone,
/// and the conflicts accepted.
pub async fn answer_scheduled(ctx: &Context<'_>, scheduled: &Scheduled) -> Result<(), BotError> {
    let release = &scheduled.release;
    let at = release.schedule.as_ref().map(|s| s.at.timestamp()).unwrap_or_default();
    let mut text =
        format!("🗓️ **Release {} · {}** starts by itself <t:{at}:F> (<t:{at}:R>), as you.", release.id, render::inert(&release.name));
    if let (Some(advance), Some(s)) = (release.process.notices_advance, &release.schedule) {
        let ahead = chrono::Duration::from_std(advance.as_duration()).unwrap_or_default();
        text.push_str(&format!(" Stakeholders get its advance notice <t:{}:R>.", (s.at - ahead).max(ctx.data().engine.now()).timestamp()));
    }
    if let Some(channel) = release.process.notices_channel {
        text.push_str(&format!(" Its card appears in <#{channel}> when it starts."));
    }
    if !scheduled.conflicts.is_empty() {
        text.push_str(&format!(
            "\n⚠️ Scheduled despite overlapping {} (recorded with your reason).",
            render::inert(&crate::engine::conflicts_text(&scheduled.conflicts))
        ));
    }
    ctx.send(poise::CreateReply::default().content(text).embed(card(ctx, release).await?).ephemeral(true)).await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum Period {
    #[name = "week"]
    Week,
    #[name = "month"]
    Month,
}

/// Show the plan: releases as bars by day, freezes shaded, conflicts marked (and as a list)
#[poise::command(slash_command, guild_only)]
pub async fn calendar(
    ctx: Context<'_>,
    #[description = "A week (default) or a month"] period: Option<Period>,
    #[description = "Only releases of this process"]
    #[autocomplete = "super::autocomplete::process"]
    process: Option<String>,
    #[description = "The first day, like 2026-12-07 (default: this week or month)"]
    #[max_length = 10]
    from: Option<String>,
) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    super::author_may_view(&ctx).await?;
    // Drawing takes longer than a text answer: acknowledge first (Discord's 3 s).
    ctx.defer_ephemeral().await?;
    let engine = &ctx.data().engine;
    let tz = engine.guild_time_zone(guild_id);
    let (start, end) = period_bounds(period.unwrap_or(Period::Week), from.as_deref(), tz, engine.now())?;
    let plan = engine.calendar(guild_id, start, end, process.as_deref()).await?;
    let text = render::calendar_text(&plan);
    let png = crate::picture::calendar_png(&plan).map_err(|e| BotError::Internal(e.context("cannot draw the calendar")))?;
    // The description is the picture's alt text (and Discord's API wants a string there, not null).
    let alt =
        format!("Release calendar from {} to {}; the message lists the same releases", start.format("%Y-%m-%d"), end.format("%Y-%m-%d"));
    let attachment = serenity::CreateAttachment::bytes(png, "calendar.png").description(alt);
    ctx.send(poise::CreateReply::default().content(text).attachment(attachment).ephemeral(true)).await?;
    Ok(())
}

/// The period's first instant and its end: a week from Monday, a month from the 1st, in `tz`.
fn period_bounds(
    period: Period,
    from: Option<&str>,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), BotError> {
    let today = now.with_timezone(&tz).date_naive();
    let first = match from {
        Some(text) => chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_err(|_| BotError::User(format!("`{}` is not a day: write it like `2026-12-07`.", render::inert(text))))?,
        None => match period {
            Period::Week => today - chrono::Duration::days(i64::from(today.weekday().num_days_from_monday())),
            Period::Month => today.with_day(1).unwrap_or(today),
        },
    };
    let last = match period {
        Period::Week => first + chrono::Duration::days(7),
        Period::Month => {
            let (y, m) = if first.month() == 12 { (first.year() + 1, 1) } else { (first.year(), first.month() + 1) };
            chrono::NaiveDate::from_ymd_opt(y, m, first.day().min(28)).unwrap_or(first + chrono::Duration::days(31))
        }
    };
    let at = |d: chrono::NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()).earliest().map(|t| t.with_timezone(&Utc)).unwrap_or(now)
    };
    Ok((at(first), at(last)))
}
