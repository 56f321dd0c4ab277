//! The release board: every active release of the server in one embed, edited in place.

use super::card::{headline, Timing};
use super::words::{release_emoji, Names};
use super::{inert, truncate};
use crate::domain::release::Release;
use poise::serenity_prelude as serenity;

/// Discord's embed description limit, and the room kept for the "more" line.
const DESCRIPTION: usize = 4_096;

/// The board: one line per release, the ones waiting for people first (as stored), and how many
/// more did not fit.
pub fn board(releases: &[Release], names: &Names) -> serenity::CreateEmbed {
    let mut lines: Vec<String> = vec![];
    let mut used = 0;
    let mut shown = 0;
    for r in releases {
        let line = truncate(
            &format!(
                "{} **{} · {}** ({}) — {}",
                release_emoji(r.status),
                r.id,
                inert(&r.name),
                inert(&r.process.name),
                headline(r, names, &Timing::default())
            ),
            300,
        );
        if used + line.chars().count() + 1 > DESCRIPTION - 60 {
            break;
        }
        used += line.chars().count() + 1;
        lines.push(line);
        shown += 1;
    }
    if shown < releases.len() {
        lines.push(format!("… and {} more: `/release list`", releases.len() - shown));
    }
    if releases.is_empty() {
        lines.push("Nothing is running, held or planned for the next 7 days.".into());
    }
    serenity::CreateEmbed::new()
        .title(format!("Release board · {} active", releases.len()))
        .description(lines.join("\n"))
        .footer(serenity::CreateEmbedFooter::new("Running, on hold, and planned within 7 days · kept current"))
}
