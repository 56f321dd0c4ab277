//! `/delegate give|revoke|list`: an approver hands their authority to someone for a while.
//! The delegate acts with the roles the delegator held when delegating; both names go on the
//! decision. Answers are ephemeral (a personal arrangement), and ping no one.

use super::{BotError, Context};
use crate::domain::delegation::Delegation;
use crate::domain::{HumanDuration, UserId};
use crate::engine::NewDelegation;
use chrono::{DateTime, Utc};
use poise::serenity_prelude as serenity;

/// Let someone approve for you while you are away
#[poise::command(slash_command, guild_only, subcommands("give", "revoke", "list"), subcommand_required)]
pub async fn delegate(_ctx: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

/// Hand your approval authority (your roles as of now) to someone until a time
#[poise::command(slash_command, guild_only)]
async fn give(
    ctx: Context<'_>,
    #[description = "Who approves for you"] to: serenity::User,
    #[description = "For how long (8h, 3d) or until when (2026-11-30 18:00 UTC, or RFC 3339)"]
    #[max_length = 40]
    until: String,
    #[description = "Only releases of this process (default: every process)"]
    #[autocomplete = "super::autocomplete::process"]
    process: Option<String>,
) -> Result<(), BotError> {
    let guild_id = super::guild_of(ctx.guild_id())?;
    if to.bot {
        return Err(BotError::User("Delegate to a person, not a bot.".into()));
    }
    let until = parse_until(&until, ctx.data().engine.now())?;
    let me = super::author(&ctx).await;
    let to_name = to.global_name.clone().unwrap_or_else(|| to.name.clone());
    let new = NewDelegation { to: UserId(to.id.get()), to_name, until, process };
    let d = ctx.data().engine.delegate(guild_id, &me, new).await?;
    let text = format!(
        "Delegated: <@{}> may approve and reject for you {} until {}. Their decisions show both names. Undo it with `/delegate revoke`.",
        d.to,
        scope(&d),
        when(d.until)
    );
    reply(&ctx, text).await
}

/// End delegations you gave: to one person, or all of them
#[poise::command(slash_command, guild_only)]
async fn revoke(
    ctx: Context<'_>,
    #[description = "Only the delegation to this person"] to: Option<serenity::User>,
) -> Result<(), BotError> {
    let guild_id = super::guild_of(ctx.guild_id())?;
    let me = super::author(&ctx).await;
    let revoked = ctx.data().engine.revoke_delegation(guild_id, &me, to.map(|u| UserId(u.id.get()))).await?;
    let text = if revoked.is_empty() {
        "You have no delegation to revoke.".to_string()
    } else {
        let who: Vec<String> = revoked.iter().map(|d| format!("<@{}>", d.to)).collect();
        format!("Revoked: {} can no longer decide for you.", who.join(", "))
    };
    reply(&ctx, text).await
}

/// The delegations you gave and received that are still running
#[poise::command(slash_command, guild_only)]
async fn list(ctx: Context<'_>) -> Result<(), BotError> {
    let guild_id = super::guild_of(ctx.guild_id())?;
    let me = UserId(ctx.author().id.get());
    let all = ctx.data().engine.delegations_of(guild_id, me).await?;
    let mut lines = vec![];
    for d in &all {
        if d.from.user == me {
            lines.push(format!("➡️ <@{}> decides for you {} until {}", d.to, scope(d), when(d.until)));
        } else {
            lines.push(format!("⬅️ You decide for <@{}> {} until {}", d.from.user, scope(d), when(d.until)));
        }
    }
    let text = if lines.is_empty() { "No delegations from or to you are running.".to_string() } else { lines.join("\n") };
    reply(&ctx, super::render::truncate(&text, super::render::CONTENT_LIMIT)).await
}

async fn reply(ctx: &Context<'_>, text: String) -> Result<(), BotError> {
    let reply = poise::CreateReply::default().content(text).ephemeral(true).allowed_mentions(serenity::CreateAllowedMentions::new());
    ctx.send(reply).await?;
    Ok(())
}

fn scope(d: &Delegation) -> String {
    match &d.process {
        Some(p) => format!("on releases of `{p}`"),
        None => "on every process".into(),
    }
}

fn when(at: DateTime<Utc>) -> String {
    format!("<t:{0}:F> (<t:{0}:R>)", at.timestamp())
}

/// `8h`, `3d` (from now), or a time: RFC 3339, or `YYYY-MM-DD HH:MM` read as UTC.
fn parse_until(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, BotError> {
    let text = text.trim();
    if let Ok(d) = text.parse::<HumanDuration>() {
        return chrono::Duration::from_std(d.as_duration())
            .ok()
            .and_then(|d| now.checked_add_signed(d))
            .ok_or_else(|| BotError::User(format!("`{text}` is too far away")));
    }
    crate::domain::inputs::parse_datetime(text, chrono_tz::UTC).map_err(|_| {
        BotError::User(format!("`{text}` is not a time: write how long, like `8h` or `3d`, or when, like `2026-11-30 18:00` (UTC)"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn until_reads_a_duration_from_now_or_a_utc_time() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).single().unwrap_or_default();
        assert_eq!(parse_until("8h", now).ok(), Some(now + chrono::Duration::hours(8)));
        assert_eq!(parse_until("2026-11-30 18:00", now).ok(), Utc.with_ymd_and_hms(2026, 11, 30, 18, 0, 0).single());
        assert!(matches!(parse_until("next week", now), Err(BotError::User(m)) if m.contains("not a time")));
    }
}
