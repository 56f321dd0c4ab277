//! How processes read in Discord: `/process list`, `/process show` and `/process check`.

use super::render::words::needs;
use super::render::{inert, truncate, Names, CONTENT_LIMIT, FIELD_LIMIT};
use crate::domain::process::{ActivityKind, InputType, Process, WaitSpec};
use poise::serenity_prelude as serenity;

/// Discord's limit on an embed's description.
const DESCRIPTION_LIMIT: usize = 4_096;

/// One line per process: name, kind, phases, description.
pub fn list(catalog: &[&crate::domain::Process]) -> String {
    if catalog.is_empty() {
        return "No processes are loaded. Add process files to the processes directory and restart the bot.".into();
    }
    let lines: Vec<String> = catalog
        .iter()
        .map(|p| {
            let about = if p.description.is_empty() { String::new() } else { format!(" — {}", inert(&p.description)) };
            format!("• `{}` ({}, {} phases){about}", p.name, p.kind.as_str(), p.phases.len())
        })
        .collect();
    let text = format!("**{} processes** (details: `/process show process:<name>`)\n{}", catalog.len(), lines.join("\n"));
    truncate(&text, CONTENT_LIMIT)
}

/// A process as an embed: what it takes (inputs, input sets) and what it does (phases and
/// their activities, with what each waits for).
pub fn show(p: &Process, names: &Names, now: chrono::DateTime<chrono::Utc>) -> serenity::CreateEmbed {
    let mut about = vec![];
    if !p.description.is_empty() {
        about.push(inert(&p.description));
    }
    about.push(format!("Kind **{}** · time zone {} · version `{}`", p.kind.as_str(), p.time_zone, p.version));
    if let Some(rm) = &p.release_manager {
        about.push(format!("Release manager: {}", names.mention(rm)));
    }
    if !p.stakeholders.is_empty() {
        about.push(format!("Stakeholders: {}", names.list(&p.stakeholders)));
    }
    about.push(String::new());
    for phase in &p.phases {
        let after = if phase.depends_on.is_empty() { String::new() } else { format!(" (after {})", phase.depends_on.join(", ")) };
        let when = phase.when.as_ref().map(|w| format!(" when `{}`", inert(w))).unwrap_or_default();
        let owner = phase.owner.as_ref().map(|o| format!(" · {}", names.mention(o))).unwrap_or_default();
        about.push(format!("**{}**{after}{when}{owner}", phase.id));
        for a in &phase.activities {
            let owner = a.owner.as_ref().map(|o| format!(" · {}", names.mention(o))).unwrap_or_default();
            about.push(format!("  • `{}` {}{owner}", a.id, activity_summary(&a.kind, names)));
        }
    }
    if !p.rollback.is_empty() {
        let ids: Vec<String> = p.rollback.iter().map(|a| format!("`{}`", a.id)).collect();
        about.push(format!("**rollback**: {}", ids.join(", ")));
    }
    let mut embed =
        serenity::CreateEmbed::new().title(format!("Process {}", p.name)).description(truncate(&about.join("\n"), DESCRIPTION_LIMIT));
    let inputs: Vec<String> = p
        .inputs
        .iter()
        .map(|i| {
            let mut line = format!("`{}` {}", i.name, input_type(&i.ty));
            if i.required {
                line.push_str(", required");
            }
            if let Some(d) = &i.default {
                line.push_str(&format!(", default `{}`", inert(d)));
            }
            line
        })
        .collect();
    if !inputs.is_empty() {
        embed = embed.field("Inputs", truncate(&inputs.join("\n"), FIELD_LIMIT), false);
    }
    if !p.input_sets.is_empty() {
        let sets: Vec<String> = p
            .input_sets
            .iter()
            .map(|(name, values)| format!("`{name}`: {}", values.keys().cloned().collect::<Vec<_>>().join(", ")))
            .collect();
        embed = embed.field("Input sets", truncate(&sets.join("\n"), FIELD_LIMIT), false);
    }
    let plan = plan_lines(p, now);
    if !plan.is_empty() {
        embed = embed.field("Plan", truncate(&plan.join("\n"), FIELD_LIMIT), false);
    }
    embed
}

/// The cadence in words with its next three times, the group, the advance notice and freezes.
fn plan_lines(p: &Process, now: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    use crate::domain::planning::cadence;
    let tz: chrono_tz::Tz = p.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let mut lines = vec![];
    if let Some(cron) = &p.cadence {
        let next: Vec<String> = cadence::occurrences(cron, tz, now, 3).iter().map(|t| format!("<t:{}:F>", t.timestamp())).collect();
        lines.push(format!(
            "Release group: {} ({}) · next {}",
            cadence::describe(cron).trim_end_matches('.'),
            p.time_zone,
            next.join(", ")
        ));
        if let Some(g) = &p.group {
            lines.push(format!("Keeps {} planned ahead, named `{}`, {} each", g.horizon, inert(&g.name), g.duration));
        }
    }
    if let Some(advance) = p.notices_advance {
        lines.push(format!("Advance shipping notice {advance} before a planned start"));
    }
    lines.extend(p.freezes.iter().map(|f| format!("🧊 {}", inert(&f.describe(tz)))));
    lines
}

fn input_type(t: &InputType) -> String {
    match t {
        InputType::String => "string".into(),
        InputType::Text => "text".into(),
        InputType::Number => "number".into(),
        InputType::Bool => "bool".into(),
        InputType::List => "list".into(),
        InputType::Datetime => "datetime".into(),
        InputType::Duration => "duration".into(),
        InputType::Choice { options } => format!("choice of {}", options.join(", ")),
    }
}

fn activity_summary(kind: &ActivityKind, names: &Names) -> String {
    match kind {
        ActivityKind::Webhook(w) => {
            let follows = match w.then.len() {
                0 => String::new(),
                1 => ", then follows the run".to_string(),
                n => format!(", then follows the run ({n} polls)"),
            };
            format!("webhook {} ({}){follows}", w.method.as_str(), truncate(&w.url, 60))
        }
        ActivityKind::Approval(a) => {
            let levels: Vec<String> = a
                .levels()
                .iter()
                .map(|l| {
                    let name = if l.name.is_empty() { String::new() } else { format!("{}: ", l.name) };
                    let needs = needs(l.min, &l.require, names);
                    if l.approvers.is_empty() {
                        return format!("{name}{needs}");
                    }
                    format!("{name}{needs} from {}", names.list(&l.approvers))
                })
                .collect();
            let mut text = format!("approval: {}", levels.join(" → "));
            if let Some(condition) = &a.auto_approve_if {
                text.push_str(&format!("; automatic when `{condition}`"));
            }
            if let Some(after) = a.expires_after {
                text.push_str(&format!("; expires after {after}"));
            }
            text
        }
        ActivityKind::Wait(WaitSpec::Duration(d)) => format!("wait {d}"),
        ActivityKind::Wait(WaitSpec::NotBefore(t)) => {
            let day =
                t.weekday.map(|d| ["Mon ", "Tue ", "Wed ", "Thu ", "Fri ", "Sat ", "Sun "].get(usize::from(d)).copied().unwrap_or(""));
            format!("wait until {}{:02}:{:02}", day.unwrap_or(""), t.hour, t.minute)
        }
        ActivityKind::Wait(WaitSpec::Until(_)) => "wait until a time from the inputs".into(),
        ActivityKind::Manual(_) => "manual task".into(),
        ActivityKind::Notice(_) => "notice".into(),
        ActivityKind::Check(c) => format!("check every {}", c.interval),
        ActivityKind::Subprocess(s) => format!("runs process `{}`", s.process),
    }
}

/// The CLI's check report, in a code block so file:line:col reads as it does in a terminal.
pub fn check_report(report: &str, ok: bool) -> String {
    let head = if ok { "✅ The file is valid." } else { "❌ The file has problems:" };
    let fence = "```";
    let room = CONTENT_LIMIT - head.len() - 2 * fence.len() - 4;
    format!("{head}\n{fence}\n{}\n{fence}", truncate(&report.replace(fence, "'''"), room))
}
