//! Suggestions while people type: process names, and this server's releases by id or name.
//! Discord shows at most 25 choices of at most 100 characters; a failed lookup suggests nothing
//! rather than erroring (the command itself still validates what is sent).

use super::render::truncate;
use super::Context;
use crate::domain::GuildId;
use crate::store::ReleaseFilter;
use poise::serenity_prelude as serenity;

const MAX_CHOICES: usize = 25;
const CHOICE_LIMIT: usize = 100;
/// How many recent releases are searched for a match.
const RECENT: u32 = 200;

/// Process names containing what was typed (any case), with their descriptions.
pub async fn process(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let typed = partial.trim().to_lowercase();
    let guild = GuildId(ctx.guild_id().map_or(0, |g| g.get()));
    let choices = ctx
        .data()
        .engine
        .processes_for(guild)
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
    let page = match ctx.data().engine.list_releases(GuildId(guild_id.get()), &ReleaseFilter::default(), 0, RECENT).await {
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
            serenity::AutocompleteChoice::new(
                truncate(&format!("{} · {} · {}", r.id, r.name, r.status.in_words()), CHOICE_LIMIT),
                r.id.to_string(),
            )
        })
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// The value of another option of the same subcommand, as typed so far.
fn sibling(ctx: &Context<'_>, name: &str) -> Option<String> {
    let poise::Context::Application(app) = ctx else { return None };
    let mut options = app.interaction.data.options.clone();
    // Subcommands nest their options one level down.
    while let Some(serenity::CommandDataOption { value: serenity::CommandDataOptionValue::SubCommand(inner), .. }) = options.first() {
        options = inner.clone();
    }
    options.into_iter().find(|o| o.name == name).and_then(|o| match o.value {
        serenity::CommandDataOptionValue::String(s) => Some(s),
        serenity::CommandDataOptionValue::Autocomplete { value, .. } => Some(value),
        _ => None,
    })
}

/// The activities of the release typed in `release`, failed ones first (retry and skip act on
/// those), each with its status.
pub async fn activity(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let empty = serenity::CreateAutocompleteResponse::new;
    let (Some(guild_id), Some(id)) = (ctx.guild_id(), sibling(&ctx, "release").and_then(|r| r.parse().ok())) else { return empty() };
    let Ok(release) = ctx.data().engine.release(GuildId(guild_id.get()), id).await else { return empty() };
    let typed = partial.trim().to_lowercase();
    let mut runs: Vec<_> =
        release.phases.iter().flat_map(|p| p.activities.iter()).filter(|a| a.id.to_lowercase().contains(&typed)).collect();
    runs.sort_by_key(|a| a.status != crate::domain::release::StepStatus::Failed);
    let choices = runs
        .into_iter()
        .take(MAX_CHOICES)
        .map(|a| serenity::AutocompleteChoice::new(truncate(&format!("{} · {}", a.id, a.status.in_words()), CHOICE_LIMIT), a.id.clone()))
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// Completes the `key=value` text of `/release create inputs:` for the process typed in
/// `process`: input keys not given yet (required ones first), or a choice input's options.
pub async fn inputs(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let guild = GuildId(ctx.guild_id().map_or(0, |g| g.get()));
    let Some(process) = sibling(&ctx, "process").and_then(|name| ctx.data().engine.process_for(guild, &name).cloned()) else {
        return serenity::CreateAutocompleteResponse::new();
    };
    let choices = input_suggestions(&process, partial)
        .into_iter()
        .filter(|(_, value)| value.chars().count() <= CHOICE_LIMIT)
        .take(MAX_CHOICES)
        .map(|(label, value)| serenity::AutocompleteChoice::new(truncate(&label, CHOICE_LIMIT), value))
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// (label, whole new text) pairs completing the last `key=value` of `typed`.
fn input_suggestions(process: &crate::domain::process::Process, typed: &str) -> Vec<(String, String)> {
    use crate::domain::process::InputType;
    if typed.matches('"').count() % 2 == 1 {
        return vec![]; // inside a quoted value
    }
    let (head, last) = match typed.rfind(' ') {
        Some(i) => (&typed[..=i], &typed[i + 1..]),
        None => ("", typed),
    };
    let given: Vec<&str> = head.split_whitespace().filter_map(|pair| pair.split_once('=').map(|(k, _)| k)).collect();
    if let Some((key, value)) = last.split_once('=') {
        let Some(spec) = process.inputs.iter().find(|i| i.name == key) else { return vec![] };
        let InputType::Choice { options } = &spec.ty else { return vec![] };
        return options.iter().filter(|o| o.starts_with(value)).map(|o| (format!("{key}={o}"), format!("{head}{key}={o} "))).collect();
    }
    let mut specs: Vec<_> = process.inputs.iter().filter(|i| i.name.starts_with(last) && !given.contains(&i.name.as_str())).collect();
    specs.sort_by_key(|i| !i.required);
    specs
        .into_iter()
        .map(|i| {
            let need = if i.required { " (required)" } else { "" };
            let about = i.description.as_deref().map(|d| format!(" — {d}")).unwrap_or_default();
            (format!("{}={need}{about}", i.name), format!("{head}{}=", i.name))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_suggestions_complete_keys_not_given_and_choice_values() {
        let source = "name: p\ninputs:\n  version: { type: string, required: true, description: like 1.4.0 }\n  environment: { type: choice, options: [staging, prod] }\n  notes: { type: text }\nnotices: { channel: \"1\" }\nphases:\n  - id: a\n    activities:\n      - { id: x, wait: { duration: 1m } }\n";
        let process = crate::domain::process_file::parse("p.yaml", source).unwrap_or_else(|e| panic!("{e:?}"));
        let values = |typed: &str| input_suggestions(&process, typed).into_iter().map(|(_, v)| v).collect::<Vec<_>>();
        assert_eq!(values(""), ["version=", "environment=", "notes="], "required first");
        assert_eq!(input_suggestions(&process, "")[0].0, "version= (required) — like 1.4.0");
        assert_eq!(values("version=1.4.0 e"), ["version=1.4.0 environment="]);
        assert_eq!(values("version=1.4.0 environment=p"), ["version=1.4.0 environment=prod "]);
        assert_eq!(values("version=1.4.0 notes=\"two words"), Vec::<String>::new(), "inside quotes");
    }
}
