//! The advance shipping notice: what is coming, for stakeholders, before it ships. One message,
//! edited when the plan or the contents change, struck through (never deleted) when the release
//! is taken back or aborted, and pointing at the card once the release runs.

use super::words::{and_list, Names};
use super::{inert, truncate, CONTENT_LIMIT};
use crate::domain::planning::AdvanceFacts;
use crate::domain::process::Identifies;
use crate::domain::release::{Release, ReleaseStatus};

/// The notice's text, as the release stands.
pub fn advance_notice(release: &Release, facts: &AdvanceFacts, names: &Names) -> String {
    let name = format!("Release {} · {}", release.id, inert(&release.name));
    let version = release.identified(Identifies::Version).first().map(|v| format!(" — version {}", inert(v))).unwrap_or_default();
    let at = release.schedule.as_ref().map(|s| s.at);
    let stakeholders: Vec<String> = release.process.stakeholders.iter().map(|p| names.mention(p)).collect();
    let mut lines = vec![];
    let headline = format!("📦 **Coming up: {name}**{version}");
    match release.status {
        ReleaseStatus::NotStarted => lines.push(headline),
        ReleaseStatus::Draft => {
            lines.push(format!("~~{}~~", headline.trim_start_matches("📦 ")));
            lines.push("❌ **Cancelled**: its planned start was taken back; a new notice comes if it is scheduled again.".into());
        }
        ReleaseStatus::Aborted if release.started_by.is_none() => {
            lines.push(format!("~~{}~~", headline.trim_start_matches("📦 ")));
            let why = release.reason.as_deref().map(|r| format!(": {}", inert(r))).unwrap_or_default();
            lines.push(format!("❌ **Cancelled**{why}."));
        }
        _ => {
            lines.push(headline);
            let card = facts.card_url.as_deref().map(|u| format!(" [Follow it on its card]({u}).")).unwrap_or_default();
            lines.push(format!("🚀 **Started.**{card}"));
        }
    }
    if let Some(at) = at {
        let until = facts.until.map(|u| format!(", planned until <t:{}:f>", u.timestamp())).unwrap_or_default();
        let verb = if release.status == ReleaseStatus::NotStarted { "Starts" } else { "Was planned for" };
        lines.push(format!("🗓️ {verb} <t:{0}:F> (<t:{0}:R>){until}", at.timestamp()));
    }
    if !stakeholders.is_empty() {
        lines.push(format!("For {}", and_list(&stakeholders)));
    }
    let phases: Vec<String> = release.process.phases.iter().map(|p| format!("`{}`", p.id)).collect();
    lines.push(format!("Phases: {}", phases.join(" → ")));
    let changes = release.changes();
    if !changes.is_empty() {
        lines.push("What changes:".into());
        lines.extend(changes.iter().take(15).map(|c| format!("• {}", inert(&c.title))));
        if changes.len() > 15 {
            lines.push(format!("• … and {} more", changes.len() - 15));
        }
    }
    if !facts.conflicts.is_empty() {
        let with: Vec<String> =
            facts.conflicts.iter().map(|c| format!("release {} “{}” ({})", c.with, inert(&c.with_name), c.shared.join(", "))).collect();
        lines.push(format!("⚠️ Overlaps {}", and_list(&with)));
    }
    for (freeze, from, to) in &facts.freezes {
        lines.push(format!("🧊 Freeze “{}” <t:{}:f> – <t:{}:f>", inert(freeze), from.timestamp(), to.timestamp()));
    }
    if let Some(early) = &release.process.early_access {
        lines.push(format!("🔑 Early access: {}", inert(early)));
    }
    truncate(&lines.join("\n"), CONTENT_LIMIT)
}
