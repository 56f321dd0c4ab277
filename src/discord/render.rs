//! How releases and notices read in Discord. Text people wrote (release names, inputs) is made
//! inert: allowed_mentions is empty on everything, and `@` gets a zero-width joiner so even a
//! client that ignores allowed_mentions shows no ping.

use super::buttons::{custom_id, Decision};
use crate::domain::approval;
use crate::domain::release::{Notice, Release, ReleaseStatus, StepStatus};
use crate::domain::ChannelId;
use crate::store::{AuditHeadPost, AuditRow, ChatMessage};
use chrono::{DateTime, Utc};
use poise::serenity_prelude as serenity;

/// Discord's limits on message content and embed field values.
pub(super) const CONTENT_LIMIT: usize = 2_000;
pub(super) const FIELD_LIMIT: usize = 1_024;
const BUTTON_LABEL_LIMIT: usize = 80;

pub fn inert(text: &str) -> String {
    text.replace('@', "@\u{200B}")
}

/// Cuts `text` to `limit` characters, with a visible marker when it was cut.
pub fn truncate(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let marker = "… (truncated)";
    let keep = limit.saturating_sub(marker.chars().count());
    text.chars().take(keep).collect::<String>() + marker
}

pub fn step_emoji(status: StepStatus) -> &'static str {
    match status {
        StepStatus::NotStarted => "⚪",
        StepStatus::Waiting => "⏳",
        StepStatus::Running => "🔵",
        StepStatus::OnHold => "✋",
        StepStatus::Success => "✅",
        StepStatus::Failed => "❌",
        StepStatus::Skipped => "⏭️",
        StepStatus::Ignored => "⚠️",
        StepStatus::Aborted => "⛔",
    }
}

fn release_colour(status: ReleaseStatus) -> serenity::Colour {
    match status {
        ReleaseStatus::Draft | ReleaseStatus::NotStarted => serenity::Colour::LIGHT_GREY,
        ReleaseStatus::Running => serenity::Colour::BLUE,
        ReleaseStatus::OnHold | ReleaseStatus::PartialSuccess => serenity::Colour::ORANGE,
        ReleaseStatus::Success => serenity::Colour::DARK_GREEN,
        ReleaseStatus::Failed | ReleaseStatus::Aborted => serenity::Colour::RED,
    }
}

/// Discord's limits on one embed: all its text together, and its fields.
const EMBED_LIMIT: usize = 6_000;
const FIELDS_LIMIT: usize = 25;
const TITLE_LIMIT: usize = 256;

/// A release's risk as people read it: "🔴 high: production environment".
pub fn risk_text(risk: &crate::domain::risk::Risk) -> String {
    use crate::domain::risk::RiskLevel;
    let emoji = match risk.level {
        RiskLevel::Low => "🟢",
        RiskLevel::Medium => "🟠",
        RiskLevel::High => "🔴",
    };
    if risk.reasons.is_empty() {
        return format!("{emoji} {}", risk.level);
    }
    format!("{emoji} {} ({})", risk.level, inert(&risk.reasons.join("; ")))
}

/// The release card: name, process, inputs, status, and each phase and activity.
pub fn release_card(release: &Release) -> serenity::CreateEmbed {
    card(release, None)
}

/// A card within Discord's embed limits however big the release: inputs, the reason and the
/// description are capped first, then the phases share what is left (phases beyond the 25
/// fields are summed up in a last one), each cut with a visible marker.
fn card(release: &Release, description: Option<String>) -> serenity::CreateEmbed {
    let title = truncate(&format!("Release {} · {}", release.id, inert(&release.name)), TITLE_LIMIT);
    let inputs = if release.inputs.0.is_empty() {
        "none".to_string()
    } else {
        release.inputs.0.iter().map(|(k, v)| format!("`{k}` = {}", inert(&v.to_string()))).collect::<Vec<_>>().join("\n")
    };
    let mut fields = vec![
        ("Status".to_string(), release.status.to_string(), true),
        ("Process".to_string(), truncate(&format!("{} (version {})", release.process.name, release.process.version), 200), true),
        ("Release id".to_string(), release.id.to_string(), true),
        ("Inputs".to_string(), truncate(&inputs, 800), false),
    ];
    if !release.process.risk.is_empty() && release.status != ReleaseStatus::Draft {
        fields.insert(3, ("Risk".to_string(), truncate(&risk_text(&release.risk), 300), true));
    }
    let reason = release.reason.as_ref().map(|r| ("Reason".to_string(), truncate(&inert(r), 500), false));
    let description = description.map(|d| truncate(&d, 1_000));
    let used = title.chars().count()
        + description.as_ref().map_or(0, |d| d.chars().count())
        + fields.iter().chain(reason.iter()).map(|(n, v, _)| n.chars().count() + v.chars().count()).sum::<usize>();
    let slots = FIELDS_LIMIT - fields.len() - usize::from(reason.is_some());
    let phases = release.phases.len();
    let (shown, rest) = if phases <= slots { (phases, 0) } else { (slots - 1, phases - (slots - 1)) };
    let share = EMBED_LIMIT.saturating_sub(used) / (shown + usize::from(rest > 0)).max(1);
    for phase in &release.phases[..shown] {
        let name = truncate(&format!("{} Phase {} · {}", step_emoji(phase.status), phase.id, phase.status), TITLE_LIMIT.min(share / 2));
        let lines: Vec<String> = phase
            .activities
            .iter()
            .map(|a| {
                let mut line = format!("{} `{}` {}", step_emoji(a.status), a.id, a.status);
                if let Some(reason) = &a.reason {
                    line.push_str(&format!(" — {}", inert(reason)));
                }
                line
            })
            .collect();
        let room = FIELD_LIMIT.min(share.saturating_sub(name.chars().count())).max(1);
        fields.push((name, truncate(&or_none(lines.join("\n")), room), false));
    }
    if rest > 0 {
        let more: Vec<String> = release.phases[shown..].iter().map(|p| format!("{} {}", step_emoji(p.status), p.id)).collect();
        let name = format!("{rest} more phases");
        let room = FIELD_LIMIT.min(share.saturating_sub(name.chars().count())).max(1);
        fields.push((name, truncate(&more.join(", "), room), false));
    }
    fields.extend(reason);
    let mut embed = serenity::CreateEmbed::new().title(title).colour(release_colour(release.status)).fields(fields);
    if let Some(description) = description {
        embed = embed.description(description);
    }
    embed
}

/// The day's audit head, as posted in the audit channel.
pub fn audit_head_text(head: &AuditHeadPost) -> String {
    let AuditHeadPost { day, row, hash, .. } = head;
    truncate(
        &format!("🔒 Daily audit trail head, {day} (UTC): row {row}, SHA-256 `{hash}`. Keep this message: `trainmaster audit verify` must reach a chain through it."),
        CONTENT_LIMIT,
    )
}

/// The words of a notice, as posted in the notices channel.
pub fn notice_text(message: &ChatMessage) -> String {
    let release = format!("**{} · {}**", message.release_id, inert(&message.release_name));
    let text = match &message.notice {
        Notice::ReleaseStarted { by } => format!("🚀 Release {release} started by {}.", inert(by)),
        Notice::PhaseStarted { phase } => format!("▶️ {release}: phase `{phase}` started."),
        Notice::PhaseFinished { phase, status } => format!("{} {release}: phase `{phase}` finished: {status}.", step_emoji(*status)),
        Notice::ApprovalRequested { activity, approvers, min, level, needs, opens_at, .. } => {
            let what = if level.is_empty() { format!("approval `{activity}`") } else { format!("approval `{activity}`, level `{level}`,") };
            let needs = if needs.is_empty() { format!("{min} approval(s)") } else { needs.clone() };
            let lock =
                opens_at.map(|at| format!(" Time-locked: decisions open <t:{0}:F> (<t:{0}:R>).", at.timestamp())).unwrap_or_default();
            format!("🗳️ {release}: {what} needs {needs} from {}.{lock}", approvers.join(", "))
        }
        Notice::ApprovalReminder { activity, level, approvals, min, .. } => {
            let level = if level.is_empty() { String::new() } else { format!(" (level `{level}`)") };
            format!("⏰ {release}: approval `{activity}`{level} is still waiting: {approvals} of {min}. Approve or reject above.")
        }
        Notice::ApprovalEscalated { activity, to, after } => {
            format!(
                "📈 {release}: approval `{activity}` had no decision within {after}; escalated to {}, who may now decide.",
                to.join(", ")
            )
        }
        Notice::AutoApproved { activity, condition, risk } => {
            format!("🤖 {release}: approval `{activity}` was given automatically: `{}` held (risk {risk}).", inert(condition))
        }
        Notice::ActivityRetrying { activity, attempt, reason } => {
            format!("🔁 {release}: `{activity}` failed ({}); try {attempt} is scheduled.", inert(reason))
        }
        // Not posted: the notifier edits the requests instead.
        Notice::RequestsClosed { why, .. } => format!("🔒 {release}: {}", inert(why)),
        Notice::ActivityLink { activity, name, url } => format!("🔗 {release}: `{activity}` {}: <{}>", inert(name), inert(url)),
        Notice::Message { text, .. } => format!("📣 {release}: {}", inert(text)),
        Notice::ManualTask { activity, checklist, owner } => {
            let owner = owner.as_deref().map(|o| format!(" for {o}")).unwrap_or_default();
            let items: Vec<String> = checklist.lines().filter(|l| !l.trim().is_empty()).map(|l| format!("☐ {}", inert(l.trim()))).collect();
            format!("📋 {release}: task `{activity}`{owner}. Click **Mark done** when it is done.\n{}", items.join("\n"))
        }
        Notice::ReleaseHeld { by, reason } => format!("⏸️ {release} is on hold ({}): {}", inert(by), inert(reason)),
        Notice::ReleaseResumed { by } => format!("▶️ {release} resumed by {}.", inert(by)),
        Notice::RollbackStarted { reason } => format!("⏪ {release}: rolling back. {}", inert(reason)),
        Notice::AuditHead { row, hash } => {
            format!("🔒 Audit trail head after release {release} ended: row {row}, SHA-256 `{hash}`. Keep this message: `trainmaster audit verify` must reach the same head.")
        }
        Notice::ReleaseFinished { status, reason } => {
            let emoji = match status {
                ReleaseStatus::Success => "🏁",
                ReleaseStatus::PartialSuccess => "⚠️",
                _ => "❌",
            };
            match reason {
                Some(reason) => format!("{emoji} Release {release} finished: **{status}**. Reason: {}", inert(reason)),
                None => format!("{emoji} Release {release} finished: **{status}**."),
            }
        }
    };
    truncate(&text, CONTENT_LIMIT)
}

/// A notice as a message: text, plus Approve / Reject buttons for an approval request.
pub fn notice_message(message: &ChatMessage) -> serenity::CreateMessage {
    let mut out = serenity::CreateMessage::new().content(notice_text(message)).allowed_mentions(serenity::CreateAllowedMentions::new());
    if let Notice::ManualTask { activity, .. } = &message.notice {
        out = out.components(vec![serenity::CreateActionRow::Buttons(vec![serenity::CreateButton::new(custom_id(
            Decision::Done,
            message.release_id,
            0,
            activity,
        ))
        .label("Mark done")
        .style(serenity::ButtonStyle::Primary)])]);
    }
    if let Notice::ApprovalRequested { activity, level_index, .. } = &message.notice {
        out = out.components(vec![serenity::CreateActionRow::Buttons(vec![
            serenity::CreateButton::new(custom_id(Decision::Approve, message.release_id, *level_index, activity))
                .label("Approve")
                .style(serenity::ButtonStyle::Success),
            serenity::CreateButton::new(custom_id(Decision::Reject, message.release_id, *level_index, activity))
                .label("Reject")
                .style(serenity::ButtonStyle::Danger),
        ])]);
    }
    out
}

/// The live card in the notices channel: the release card, led by a progress bar of phases,
/// what runs now, the release manager, and Discord timestamps (each reader sees their own time).
pub fn live_card(release: &Release) -> serenity::CreateEmbed {
    let done = release.phases.iter().filter(|p| p.status.is_terminal()).count();
    let total = release.phases.len();
    let mut lines = vec![format!("{} {done}/{total} phases", progress_bar(done, total))];
    let running: Vec<String> = release
        .phases
        .iter()
        .flat_map(|p| p.activities.iter())
        .filter(|a| matches!(a.status, StepStatus::Running | StepStatus::OnHold | StepStatus::Waiting))
        .map(|a| format!("{} `{}`", step_emoji(a.status), a.id))
        .collect();
    if !running.is_empty() {
        lines.push(format!("Now: {}", running.join(", ")));
    }
    if let Some(manager) = &release.process.release_manager {
        lines.push(format!("Release manager: {manager}"));
    }
    lines.push(format!("Created <t:{}:R> · updated <t:{}:R>", release.created_at.timestamp(), chrono::Utc::now().timestamp()));
    card(release, Some(lines.join("\n")))
}

/// Proof of delivery, for the channel when a release succeeds: what shipped (its inputs), how
/// long it took, who approved, and the links its activities returned.
pub fn delivery_summary(release: &Release, started: Option<DateTime<Utc>>, finished: DateTime<Utc>) -> serenity::CreateEmbed {
    let shipped = if release.status == ReleaseStatus::Success { "📦 Shipped" } else { "📦 Partly shipped" };
    let mut embed = serenity::CreateEmbed::new()
        .title(truncate(&format!("{shipped}: release {} · {}", release.id, inert(&release.name)), 256))
        .colour(release_colour(release.status));
    let inputs: Vec<String> = release.inputs.0.iter().map(|(k, v)| format!("`{k}` = {}", inert(&v.to_string()))).collect();
    embed = embed.field("What shipped", truncate(&or_none(inputs.join("\n")), FIELD_LIMIT), false);
    if let Some(started) = started {
        let took = format!("{} (<t:{}:f> → <t:{}:f>)", human_duration(finished - started), started.timestamp(), finished.timestamp());
        embed = embed.field("Took", took, false);
    }
    let approvals: Vec<String> = release
        .phases
        .iter()
        .flat_map(|p| p.activities.iter())
        .filter(|a| a.decisions.iter().any(|d| d.approve))
        .map(|a| {
            let names: Vec<String> = a.decisions.iter().filter(|d| d.approve).map(|d| d.shown_name()).collect();
            format!("`{}`: {}", a.id, inert(&names.join(", ")))
        })
        .collect();
    embed = embed.field("Approved by", truncate(&or_none(approvals.join("\n")), FIELD_LIMIT), false);
    let links: Vec<String> = release
        .phases
        .iter()
        .flat_map(|p| p.activities.iter())
        .flat_map(|a| a.outputs.iter().map(move |(name, value)| (a, name, value)))
        .filter_map(|(a, name, value)| {
            let url = value.as_str().filter(|v| v.starts_with("https://") || v.starts_with("http://"))?;
            Some(format!("`{}` {name}: {}", a.id, inert(url)))
        })
        .collect();
    if !links.is_empty() {
        embed = embed.field("Links", truncate(&links.join("\n"), FIELD_LIMIT), false);
    }
    embed
}

fn or_none(text: String) -> String {
    if text.is_empty() {
        "none".into()
    } else {
        text
    }
}

/// `2 h 5 min`, `3 min 20 s`, `12 s`.
pub fn human_duration(d: chrono::TimeDelta) -> String {
    let secs = d.num_seconds().max(0);
    let (h, m, s) = (secs / 3_600, secs % 3_600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} min {s} s"),
        _ => format!("{h} h {m} min"),
    }
}

/// `▰▰▰▱▱` for 3 of 5, scaled to at most ten blocks.
pub fn progress_bar(done: usize, total: usize) -> String {
    let width = total.clamp(1, 10);
    let filled = (done * width).checked_div(total).unwrap_or(0).min(width);
    "▰".repeat(filled) + &"▱".repeat(width - filled)
}

/// The name of a release's thread (Discord allows 100 characters).
pub fn thread_name(release: &Release) -> String {
    thread_name_for(release.id, &release.name)
}

/// The name of release `id`'s thread.
pub fn thread_name_for(id: crate::domain::release::ReleaseId, name: &str) -> String {
    truncate(&format!("Release {id} · {name}"), 100)
}

/// A request's buttons once nobody needs to answer it: one disabled button saying why.
pub fn closed_request(
    release: crate::domain::release::ReleaseId,
    activity: &str,
    why: &str,
    style: serenity::ButtonStyle,
) -> Vec<serenity::CreateActionRow> {
    let button = serenity::CreateButton::new(custom_id(Decision::Decided, release, 0, activity))
        .label(truncate(why, BUTTON_LABEL_LIMIT))
        .style(style)
        .disabled(true);
    vec![serenity::CreateActionRow::Buttons(vec![button])]
}

/// Whether a command answered in `channel` would repeat the release's live card, which the
/// notifier posts there: then the answer is only for the person who asked.
pub fn in_card_channel(release: &Release, channel: ChannelId) -> bool {
    release.process.notices_channel == Some(channel)
}

/// The line an answer in the card's channel carries instead of being public.
pub const DRAFT_CARD_NOTE: &str = "Only you see this: the release's live card appears in this channel when it starts.";

/// An approval request after a decision: the request's first line, who decided so far, and, once
/// the round is closed, one disabled button saying how it ended instead of Approve / Reject.
/// `level` is the level the request asks for, as its buttons carry it.
pub fn decided_approval(request: &str, release: &Release, activity: &str, level: u32) -> Option<serenity::EditMessage> {
    let run = release.activity(activity)?;
    let first_line = request.lines().next().unwrap_or_default();
    let edit = serenity::EditMessage::new().allowed_mentions(serenity::CreateAllowedMentions::new());
    match (run.status, approval::outcome(run)) {
        (StepStatus::Success | StepStatus::Failed, Some(outcome)) => {
            let approved = run.status == StepStatus::Success;
            let (emoji, style) = if approved { ("✅", serenity::ButtonStyle::Success) } else { ("❌", serenity::ButtonStyle::Danger) };
            let label = truncate(&capitalised(&outcome), BUTTON_LABEL_LIMIT);
            let closed = serenity::CreateButton::new(custom_id(Decision::Decided, release.id, level, activity))
                .label(label)
                .style(style)
                .disabled(true);
            // A rejection says why (the reason the rejecter typed, as the activity's failure
            // reason words it: `rejected by bob: <reason>`); the button keeps to who decided.
            let said = match (approved, &run.reason) {
                (false, Some(reason)) if run.decisions.iter().any(|d| !d.approve) => reason.clone(),
                _ => outcome,
            };
            let text = format!("{first_line}\n{emoji} {}", inert(&capitalised(&said)));
            Some(edit.content(truncate(&text, CONTENT_LIMIT)).components(vec![serenity::CreateActionRow::Buttons(vec![closed])]))
        }
        _ => {
            // A multi-level approval's request names its level; once that level is complete its
            // message closes while the next level's request (a new message) takes the clicks.
            let level = level_named(release, activity, level);
            let names: Vec<String> = run
                .decisions
                .iter()
                .filter(|d| d.approve && level.as_ref().is_none_or(|(i, _)| d.level as usize == *i))
                .map(|d| d.shown_name())
                .collect();
            if let Some((level_index, name)) = level.filter(|(i, _)| approval_level_done(release, activity, *i)) {
                let level_index = level_index as u32;
                let outcome = format!("Level {name} approved by {}", names.join(", "));
                let closed = serenity::CreateButton::new(custom_id(Decision::Decided, release.id, level_index, activity))
                    .label(truncate(&outcome, BUTTON_LABEL_LIMIT))
                    .style(serenity::ButtonStyle::Success)
                    .disabled(true);
                let text = format!("{first_line}\n✅ {}", inert(&outcome));
                return Some(
                    edit.content(truncate(&text, CONTENT_LIMIT)).components(vec![serenity::CreateActionRow::Buttons(vec![closed])]),
                );
            }
            let text = format!("{first_line}\n🗳️ Approved so far by {}.", inert(&names.join(", ")));
            Some(edit.content(truncate(&text, CONTENT_LIMIT)))
        }
    }
}

/// The level (index, name) a request message is for, read from its first line.
/// Level `index` of a multi-level approval, with its name; `None` for a single-level one.
fn level_named(release: &Release, activity: &str, index: u32) -> Option<(usize, String)> {
    let Some(crate::domain::process::ActivityKind::Approval(spec)) = release.process.activity(activity).map(|a| &a.kind) else {
        return None;
    };
    spec.levels.get(index as usize).map(|l| (index as usize, l.name.clone()))
}

pub fn approval_level_done(release: &Release, activity: &str, index: usize) -> bool {
    let (Some(run), Some(crate::domain::process::ActivityKind::Approval(spec))) =
        (release.activity(activity), release.process.activity(activity).map(|a| &a.kind))
    else {
        return false;
    };
    approval::open_level(spec, run).is_none_or(|open| open > index)
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A page of the audit trail as chat lines; page 0 is the newest entries that fit one message.
pub fn audit_log(release: &Release, rows: &[AuditRow], page: usize) -> AuditPage {
    let header_room = 120 + release.name.chars().count();
    let footer = format!("The whole trail: `trainmaster audit export --release {}`", release.id);
    let lines: Vec<String> = rows.iter().map(audit_line).collect();
    // Pages are cut from the newest backwards, each as many lines as fit in one message.
    let budget = CONTENT_LIMIT.saturating_sub(header_room + footer.chars().count());
    let mut pages: Vec<(usize, usize)> = vec![];
    let mut end = lines.len();
    while end > 0 {
        let mut start = end;
        let mut used = 0;
        while start > 0 && (used + lines[start - 1].chars().count() < budget || start == end) {
            used += lines[start - 1].chars().count() + 1;
            start -= 1;
        }
        pages.push((start, end));
        end = start;
    }
    let total = pages.len().max(1);
    let page = page.min(total - 1);
    let (start, end) = pages.get(page).copied().unwrap_or((0, 0));
    let range = if lines.is_empty() { "no entries".to_string() } else { format!("entries {}–{end} of {}", start + 1, lines.len()) };
    let mut out = format!(
        "**Audit trail of release {} · {}** ({range}, page {} of {total}, newest first)",
        release.id,
        inert(&release.name),
        page + 1
    );
    for line in &lines[start..end] {
        out.push('\n');
        out.push_str(&truncate(line, budget));
    }
    out.push('\n');
    out.push_str(&footer);
    AuditPage { text: truncate(&out, CONTENT_LIMIT), page, pages: total }
}

/// One page of a release's audit trail: page 0 holds the newest entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    pub text: String,
    pub page: usize,
    pub pages: usize,
}

fn audit_line(row: &AuditRow) -> String {
    let when = chrono::DateTime::parse_from_rfc3339(&row.at).map(|t| format!("<t:{}:T>", t.timestamp())).unwrap_or_else(|_| row.at.clone());
    let who = match row.actor["type"].as_str() {
        Some("user") => inert(row.actor["name"].as_str().unwrap_or("someone")),
        _ => "Trainmaster".to_string(),
    };
    let detail = truncate(&inert(&row.detail.to_string()), 160);
    format!("`{}` {when} {who} · **{}** {detail}", row.id, row.action)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every text of an embed as Discord counts it towards its 6,000-character limit.
    fn embed_size(embed: &serde_json::Value) -> usize {
        let text = |v: &serde_json::Value| v.as_str().map_or(0, |s| s.chars().count());
        let fields = embed["fields"].as_array().cloned().unwrap_or_default();
        text(&embed["title"])
            + text(&embed["description"])
            + text(&embed["footer"]["text"])
            + fields.iter().map(|f| text(&f["name"]) + text(&f["value"])).sum::<usize>()
    }

    #[test]
    fn a_huge_release_card_fits_discords_embed_limits() {
        use std::fmt::Write as _;
        let mut yaml = "name: huge\nnotices: { channel: \"1\" }\nphases:\n".to_string();
        for p in 0..40 {
            let _ = write!(yaml, "  - id: phase-{p}\n    activities:\n");
            for a in 0..10 {
                let _ = writeln!(yaml, "      - {{ id: step-{p}-{a}, manual: {{ checklist: x }} }}");
            }
        }
        let process = crate::domain::process_file::parse("huge.yaml", &yaml).unwrap_or_else(|e| panic!("{e:?}"));
        let inputs = crate::domain::inputs::Inputs(
            [("notes".to_string(), crate::domain::inputs::InputValue::Text("n".repeat(5_000)))].into_iter().collect(),
        );
        let mut release = Release::new_draft(
            crate::domain::ReleaseId(9),
            crate::domain::GuildId(1),
            "@everyone ".repeat(20),
            process,
            inputs,
            crate::domain::UserId(1),
            chrono::Utc::now(),
        );
        for phase in &mut release.phases {
            for activity in &mut phase.activities {
                activity.reason = Some("r".repeat(300));
            }
        }
        release.reason = Some("why ".repeat(500));
        for embed in [release_card(&release), live_card(&release)] {
            let embed = serde_json::to_value(embed).unwrap_or_default();
            let fields = embed["fields"].as_array().cloned().unwrap_or_default();
            assert!(embed_size(&embed) <= 6_000, "{} characters", embed_size(&embed));
            assert!(fields.len() <= 25, "{} fields", fields.len());
            assert!(embed["title"].as_str().is_some_and(|t| t.chars().count() <= 256));
            for field in &fields {
                assert!(field["name"].as_str().is_some_and(|n| n.chars().count() <= 256), "{field}");
                assert!(field["value"].as_str().is_some_and(|v| !v.is_empty() && v.chars().count() <= 1_024), "{field}");
            }
            let names: Vec<&str> = fields.iter().filter_map(|f| f["name"].as_str()).collect();
            assert!(names.contains(&"21 more phases"), "19 shown, the rest summed up: {names:?}");
            assert!(names.contains(&"Reason"), "{names:?}");
            assert!(fields.iter().any(|f| f["value"].as_str().is_some_and(|v| v.ends_with("(truncated)"))), "cut with a marker");
        }
    }

    #[test]
    fn mentions_in_user_text_are_made_inert() {
        assert_eq!(inert("@everyone ship"), "@\u{200B}everyone ship");
    }

    #[test]
    fn a_long_audit_log_is_paged_newest_first_each_page_within_the_limit() {
        let process = crate::domain::process_file::parse("p.yaml", include_str!("../../processes/weekly-production.yaml"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let release = Release::new_draft(
            crate::domain::ReleaseId(3),
            crate::domain::GuildId(1),
            "R".into(),
            process,
            Default::default(),
            crate::domain::UserId(1),
            chrono::Utc::now(),
        );
        let rows: Vec<AuditRow> = (1..=200)
            .map(|i| AuditRow {
                id: i,
                release_id: Some(3),
                at: "2026-11-23T10:00:00+00:00".into(),
                actor: serde_json::json!({"type": "system"}),
                action: format!("action_{i}"),
                detail: serde_json::json!({"n": i}),
                prev_hash: String::new(),
                hash: String::new(),
            })
            .collect();
        let first = audit_log(&release, &rows, 0);
        assert!(first.pages > 1, "200 entries do not fit one message");
        assert!(first.text.contains("**action_200**") && !text_has(&first.text, 1));
        let mut seen = vec![];
        for page in 0..first.pages {
            let p = audit_log(&release, &rows, page);
            assert!(p.text.chars().count() <= 2_000, "page {page} is {} characters", p.text.chars().count());
            assert!(p.text.contains("audit export --release 3") && p.text.contains(&format!("page {} of {}", page + 1, first.pages)));
            seen.extend((1..=200).filter(|i| text_has(&p.text, *i)));
        }
        seen.sort();
        assert_eq!(seen, (1..=200).collect::<Vec<_>>(), "every entry on exactly one page");
        assert_eq!(audit_log(&release, &rows, 99).page, first.pages - 1, "a page past the end shows the oldest");
    }

    fn text_has(text: &str, i: i64) -> bool {
        text.contains(&format!("**action_{i}**"))
    }

    #[test]
    fn the_progress_bar_counts_finished_phases_in_at_most_ten_blocks() {
        assert_eq!(progress_bar(3, 5), "▰▰▰▱▱");
        assert_eq!(progress_bar(0, 2), "▱▱");
        assert_eq!(progress_bar(40, 40), "▰".repeat(10));
        assert_eq!(progress_bar(20, 40), "▰▰▰▰▰▱▱▱▱▱");
        assert_eq!(progress_bar(0, 0), "▱");
    }

    #[test]
    fn durations_read_like_people_say_them() {
        assert_eq!(human_duration(chrono::TimeDelta::seconds(12)), "12 s");
        assert_eq!(human_duration(chrono::TimeDelta::seconds(200)), "3 min 20 s");
        assert_eq!(human_duration(chrono::TimeDelta::seconds(7_500)), "2 h 5 min");
        assert_eq!(human_duration(chrono::TimeDelta::seconds(-5)), "0 s");
    }

    #[test]
    fn long_text_is_cut_with_a_marker() {
        let cut = truncate(&"x".repeat(3_000), 2_000);
        assert_eq!(cut.chars().count(), 2_000);
        assert!(cut.ends_with("(truncated)"));
    }
}
