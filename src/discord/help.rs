//! `/trainmaster help`: every command with its description, read from the commands themselves
//! so the help cannot drift from what is registered, and a link to the full guide.

use super::render::truncate;
use super::{BotError, Context, Data};
use poise::serenity_prelude as serenity;

/// Where people read more when no `help_url` is configured.
const DEFAULT_GUIDE: &str = "The full guide is `README.md` in Trainmaster's source.";

/// Help with Trainmaster
#[poise::command(slash_command, subcommands("help"), subcommand_required)]
pub async fn trainmaster(_ctx: Context<'_>) -> Result<(), BotError> {
    Ok(())
}

/// What each command does, and where to read more
#[poise::command(slash_command)]
async fn help(ctx: Context<'_>) -> Result<(), BotError> {
    let commands = &ctx.framework().options().commands;
    let embed = render(commands, ctx.data().help_url.as_deref());
    ctx.send(poise::CreateReply::default().embed(embed).ephemeral(true)).await?;
    Ok(())
}

fn render(commands: &[poise::Command<Data, BotError>], help_url: Option<&str>) -> serenity::CreateEmbed {
    let guide = match help_url {
        Some(url) => format!("The full guide: {url}"),
        None => DEFAULT_GUIDE.to_string(),
    };
    let intro = "Releases run from process files: create one as a Draft, start it, and follow it in the notices channel. \
                 Approvers decide with the buttons on approval requests. Everything you are told only you can see.";
    let mut embed = serenity::CreateEmbed::new().title("Trainmaster").description(format!("{intro}\n\n{guide}"));
    for command in commands.iter().filter(|c| c.name != "trainmaster") {
        let mut lines: Vec<String> = command
            .subcommands
            .iter()
            .map(|sub| format!("`/{} {}`: {}", command.name, sub.name, sub.description.as_deref().unwrap_or_default()))
            .collect();
        if command.subcommands.is_empty() {
            lines.push(format!("`/{}`: {}", command.name, command.description.as_deref().unwrap_or_default()));
        }
        // A field holds 1,024 characters: a command with many subcommands continues in the next.
        let mut chunks: Vec<String> = vec![];
        for line in lines {
            match chunks.last_mut() {
                Some(chunk) if chunk.chars().count() + line.chars().count() < super::render::FIELD_LIMIT => {
                    chunk.push('\n');
                    chunk.push_str(&line);
                }
                _ => chunks.push(truncate(&line, super::render::FIELD_LIMIT)),
            }
        }
        for (i, chunk) in chunks.into_iter().enumerate() {
            let name = if i == 0 { format!("/{}", command.name) } else { format!("/{} (more)", command.name) };
            embed = embed.field(name, chunk, false);
        }
    }
    embed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_names_every_subcommand_and_fits_in_its_fields() {
        let embed = serde_json::to_value(render(&super::super::commands(), Some("https://wiki.example/trainmaster"))).unwrap_or_default();
        let fields = embed["fields"].as_array().cloned().unwrap_or_default();
        let names: Vec<&str> = fields.iter().filter_map(|f| f["name"].as_str()).collect();
        assert_eq!(names, ["/release", "/release (more)", "/process", "/delegate", "/freeze", "/group", "/deployed", "/metrics"]);
        for field in &fields {
            assert!(field["value"].as_str().is_some_and(|v| v.chars().count() <= 1_024), "{field}");
        }
        let release = format!("{}\n{}", fields[0]["value"].as_str().unwrap_or_default(), fields[1]["value"].as_str().unwrap_or_default());
        for sub in ["create", "list", "start", "schedule", "unschedule", "calendar", "hold", "abort", "retry", "skip", "log"] {
            assert!(release.contains(&format!("`/release {sub}`")), "{sub} missing from {release}");
        }
        assert!(embed["description"].as_str().is_some_and(|d| d.contains("https://wiki.example/trainmaster")));
    }
}
