//! `/deployed` (what runs where) and `/metrics dora` (the four key metrics, with a chart).

use super::commands::guild;
use super::{render, BotError, Context};
use crate::domain::insight::dora::DEFAULT_FAILURE_WINDOW;
use crate::store::DeliveryFilter;
use poise::serenity_prelude as serenity;

/// What runs where: each service's version per environment, or where one version is
#[poise::command(slash_command, guild_only)]
pub async fn deployed(
    ctx: Context<'_>,
    #[description = "Only this service, like api"]
    #[max_length = 100]
    service: Option<String>,
    #[description = "Only this environment, like prod"]
    #[max_length = 100]
    environment: Option<String>,
    #[description = "Where is this version (with service:)? Like 1.4.2"]
    #[max_length = 100]
    version: Option<String>,
) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    super::author_may_view(&ctx).await?;
    let filter = DeliveryFilter { service: service.clone(), environment: environment.clone(), process: None };
    let engine = &ctx.data().engine;
    let text = match (&version, &service) {
        (Some(_), None) => return Err(BotError::User("Name the service too: `/deployed service:api version:1.4.2`.".into())),
        (Some(version), Some(service)) => {
            let now = engine.deployed(guild_id, &filter).await?;
            let history = engine.history(guild_id, &filter).await?;
            render::where_version(service, version, &now, &history)
        }
        (None, _) => render::deployed_table(&engine.deployed(guild_id, &filter).await?, service.as_deref(), environment.as_deref()),
    };
    ctx.send(poise::CreateReply::default().content(text).ephemeral(true)).await?;
    Ok(())
}

/// Delivery metrics
#[poise::command(slash_command, guild_only, subcommands("dora"), subcommand_required)]
pub async fn metrics(_ctx: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

/// DORA metrics: deployments a day, lead time, change failure rate, time to restore (see the README)
#[poise::command(slash_command, guild_only)]
async fn dora(
    ctx: Context<'_>,
    #[description = "Only releases of this process"]
    #[autocomplete = "super::autocomplete::process"]
    process: Option<String>,
    #[description = "Only this environment, like prod"]
    #[max_length = 100]
    environment: Option<String>,
    #[description = "How far back, like 30d (default) or 12w"]
    #[max_length = 10]
    period: Option<String>,
) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    super::author_may_view(&ctx).await?;
    let length = match period.as_deref() {
        None => chrono::Duration::days(30),
        Some(text) => parse_period(text)?,
    };
    ctx.defer_ephemeral().await?;
    let engine = &ctx.data().engine;
    let to = engine.now();
    let from = to - length;
    let filter = DeliveryFilter { service: None, environment, process };
    let window = chrono::Duration::days(DEFAULT_FAILURE_WINDOW);
    // The trend: the same figures bucket by bucket (weeks for a month or more, else days).
    let bucket = if length >= chrono::Duration::days(28) { chrono::Duration::days(7) } else { chrono::Duration::days(1) };
    let (figures, series) = engine.dora_trend(guild_id, &filter, (from, to), bucket, 60, window).await?;
    let text = render::dora_text(&figures, &filter);
    let png = crate::picture::dora_png(&series).map_err(|e| BotError::Internal(e.context("cannot draw the DORA chart")))?;
    let alt = "Four charts over the period: deployments a day, median lead time, change failure rate, median time to restore; the message gives the figures";
    let attachment = serenity::CreateAttachment::bytes(png, "dora.png").description(alt);
    ctx.send(poise::CreateReply::default().content(text).attachment(attachment).ephemeral(true)).await?;
    Ok(())
}

/// `30d`, `12w`, `6m` (30-day months), at most two years.
fn parse_period(text: &str) -> Result<chrono::Duration, BotError> {
    let text = text.trim();
    let bad = || {
        BotError::User(format!(
            "`{}` is not a period: write a number of days, weeks or months, like `30d`, `12w` or `6m`.",
            render::inert(text)
        ))
    };
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| bad())?;
    let days = match unit {
        "d" => n,
        "w" => n * 7,
        "m" => n * 30,
        _ => return Err(bad()),
    };
    if !(1..=730).contains(&days) {
        return Err(BotError::User("A period runs from 1 day to 2 years (`730d`).".into()));
    }
    Ok(chrono::Duration::days(days))
}

/// A release's report for post-mortems: timeline picture, summary, and Markdown, CSV and JSON files
#[poise::command(slash_command, guild_only)]
pub async fn report(
    ctx: Context<'_>,
    #[description = "Release id, like 42"]
    #[autocomplete = "super::autocomplete::release"]
    release: String,
) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    let id = super::commands::release_id(&release)?;
    super::author_may_view(&ctx).await?;
    ctx.defer_ephemeral().await?;
    let engine = &ctx.data().engine;
    let report = engine.report(guild_id, id).await?;
    let internal = |e: anyhow::Error| BotError::Internal(e);
    let png = crate::picture::timeline_png(&report, engine.now()).map_err(|e| internal(e.context("cannot draw the timeline")))?;
    let csv = report.activities_csv().map_err(|e| internal(anyhow::Error::from(e).context("cannot write the CSV")))?;
    let json = serde_json::to_vec_pretty(&report).map_err(|e| internal(e.into()))?;
    let alt = format!("Timeline of release {}: phases and activities as bars; the message and report.md say the same", report.release);
    let reply = poise::CreateReply::default()
        .content(render::report_summary(&report))
        .attachment(serenity::CreateAttachment::bytes(png, "timeline.png").description(alt))
        .attachment(serenity::CreateAttachment::bytes(report.markdown().into_bytes(), "report.md").description("The report in Markdown"))
        .attachment(serenity::CreateAttachment::bytes(csv.into_bytes(), "activities.csv").description("One row per activity"))
        .attachment(serenity::CreateAttachment::bytes(json, "report.json").description("The report as JSON"))
        .ephemeral(true);
    ctx.send(reply).await?;
    Ok(())
}

/// Every active release of this server in one message; `channel:` keeps it current there
#[poise::command(slash_command, guild_only)]
pub async fn board(
    ctx: Context<'_>,
    #[description = "Release managers: keep the board in this channel (type # and pick it)"]
    #[max_length = 40]
    channel: Option<String>,
) -> Result<(), BotError> {
    let guild_id = guild(&ctx)?;
    let engine = &ctx.data().engine;
    if let Some(text) = channel {
        let id = text
            .trim()
            .trim_start_matches("<#")
            .trim_end_matches('>')
            .parse::<u64>()
            .map_err(|_| BotError::User(format!("`{}` is not a channel: type `#` and pick one.", render::inert(&text))))?;
        let actor = super::author(&ctx).await;
        engine.set_board(guild_id, &actor, crate::domain::ChannelId(id)).await?;
        let text = format!("📋 The release board is in <#{id}> now: one message, kept current as releases start, wait and end.");
        ctx.send(poise::CreateReply::default().content(text).ephemeral(true)).await?;
        return Ok(());
    }
    super::author_may_view(&ctx).await?;
    let releases = engine.board_releases(guild_id).await?;
    let names = super::names_in(ctx.serenity_context().cache.as_ref(), ctx.guild_id());
    ctx.send(poise::CreateReply::default().embed(render::board(&releases, &names)).ephemeral(true)).await?;
    Ok(())
}
