//! How releases and notices read in Discord. Text people wrote (release names, inputs) is made
//! inert: allowed_mentions is empty on everything, and `@` gets a zero-width joiner so even a
//! client that ignores allowed_mentions shows no ping. Principals are shown as mentions
//! (`words::Names`), states in words (`words`): nothing reads like config or an enum.

mod advance;
mod board;
mod calendar;
mod card;
mod insight;
mod log;
mod notices;
pub mod words;

pub use advance::advance_notice;
pub use board::board;
pub use calendar::calendar_text;
pub use card::{headline, Detail, Timing};
pub use insight::{deployed_table, digest_text, dora_text, report_summary, where_version};
pub use log::{audit_log, AuditPage};
pub use notices::{audit_head_text, end_message, notice_text, pinged, Place};
pub use words::Names;

use super::buttons::{custom_id, Decision};
use crate::domain::approval;
use crate::domain::release::{Notice, Release, StepStatus};
use crate::domain::ChannelId;
use crate::store::ChatMessage;
use poise::serenity_prelude as serenity;

/// Discord's limits on message content and embed field values.
pub(super) const CONTENT_LIMIT: usize = 2_000;
pub(super) const FIELD_LIMIT: usize = 1_024;
const BUTTON_LABEL_LIMIT: usize = 80;
const TITLE_LIMIT: usize = 256;

/// The release card, in the notices channel (edited in place) or as a command's answer.
pub fn release_card(release: &Release, names: &Names, timing: &Timing) -> serenity::CreateEmbed {
    card::card(release, names, timing, Detail::Live)
}

/// The release with every phase and activity, for `/release status`.
pub fn release_status(release: &Release, names: &Names, timing: &Timing) -> serenity::CreateEmbed {
    card::card(release, names, timing, Detail::Full)
}

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

/// A notice as a message: text, plus Approve / Reject buttons for an approval request.
pub fn notice_message(message: &ChatMessage, names: &Names, place: Place) -> serenity::CreateMessage {
    let mut out =
        serenity::CreateMessage::new().content(notice_text(message, names, place)).allowed_mentions(serenity::CreateAllowedMentions::new());
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

/// `2 h 5 min`, `3 min 20 s`, `12 s`.
pub fn human_duration(d: chrono::TimeDelta) -> String {
    crate::domain::duration::words(d)
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

/// What the creator's private Draft card says about where the release will be followed.
pub fn draft_card_note(release: &Release) -> String {
    match release.process.notices_channel {
        Some(channel) => format!("Only you see this Draft. Its live card appears in <#{channel}> when it starts."),
        None => "Only you see this Draft.".into(),
    }
}

/// An approval request after a decision: the request's first line, then who decided and when.
/// Once the request's round (or, for a multi-level approval, its level) is closed, its buttons
/// go: the text says how it ended, once. Each level's message credits only that level's
/// approvers. `level` is the level the request asks for, as its buttons carry it.
pub fn decided_approval(
    request: &str,
    release: &Release,
    activity: &str,
    level: u32,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<serenity::EditMessage> {
    let run = release.activity(activity)?;
    let first_line = request.lines().next().unwrap_or_default();
    let when = format!("<t:{}:R>", now.timestamp());
    let edit = serenity::EditMessage::new().allowed_mentions(serenity::CreateAllowedMentions::new());
    let level_name = level_named(release, activity, level);
    let approvers_here: Vec<String> = run
        .decisions
        .iter()
        .filter(|d| d.approve && level_name.as_ref().is_none_or(|(i, _)| d.level as usize == *i))
        .map(|d| inert(&d.shown_name()))
        .collect();
    let closed = |line: String| Some(edit.clone().content(truncate(&format!("{first_line}\n{line}"), CONTENT_LIMIT)).components(vec![]));
    if let Some(no) = run.decisions.iter().find(|d| !d.approve) {
        // A rejection says why (the reason the rejecter typed, as the activity's failure words it).
        let said = run.reason.clone().unwrap_or_else(|| format!("rejected by {}", no.shown_name()));
        return closed(format!("❌ {} {when}", inert(&capitalised(&said))));
    }
    let complete = match &level_name {
        Some((index, _)) => approval_level_done(release, activity, *index),
        None => run.status == StepStatus::Success,
    };
    let by = words::and_list(&approvers_here);
    match (complete, &level_name) {
        (true, Some((_, name))) => closed(format!("✅ Level **{}** approved by {by} {when}", inert(name))),
        (true, None) => closed(format!("✅ Approved by {by} {when}")),
        (false, _) if run.status.is_terminal() => None,
        (false, _) => {
            let text = format!("{first_line}\n🗳️ Approved so far by {by}.");
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

#[cfg(test)]
mod tests;
