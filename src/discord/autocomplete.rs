//! Suggestions while people type: process names, and this server's releases by id or name.
//! Discord shows at most 25 choices of at most 100 characters; a failed lookup suggests nothing
//! rather than erroring (the command itself still validates what is sent).

use super::render::truncate;
use super::Context;
use crate::store::ReleaseFilter;
use poise::serenity_prelude as serenity;

const MAX_CHOICES: usize = 25;
const CHOICE_LIMIT: usize = 100;
/// How many recent releases are searched for a match.
const RECENT: u32 = 200;

/// Process names containing what was typed (any case), with their descriptions.
pub async fn process(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let typed = partial.trim().to_lowercase();
    let choices = ctx
        .data()
        .engine
        .catalog()
        .values()
        .filter(|p| p.name.to_lowercase().contains(&typed))
        .take(MAX_CHOICES)
        .map(|p| {
            let label = if p.description.is_empty() { p.name.clone() } else { format!("{} — {}", p.name, p.description) };
            serenity::AutocompleteChoice::new(truncate(&label, CHOICE_LIMIT), p.name.clone())
        })
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// This server's releases, newest first, whose id starts with or whose name contains what was
/// typed; the value sent is the id.
pub async fn release(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let Some(guild_id) = ctx.guild_id() else { return serenity::CreateAutocompleteResponse::new() };
    let typed = partial.trim().to_lowercase();
    let page = match ctx.data().engine.list_releases(guild_id.get(), &ReleaseFilter::default(), 0, RECENT).await {
        Ok(page) => page,
        Err(e) => {
            tracing::warn!(error = %e, "cannot suggest releases");
            return serenity::CreateAutocompleteResponse::new();
        }
    };
    let choices = page
        .releases
        .into_iter()
        .filter(|r| r.id.to_string().starts_with(&typed) || r.name.to_lowercase().contains(&typed))
        .take(MAX_CHOICES)
        .map(|r| {
            serenity::AutocompleteChoice::new(truncate(&format!("{} · {} · {}", r.id, r.name, r.status), CHOICE_LIMIT), r.id.to_string())
        })
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}
