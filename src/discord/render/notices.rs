//! Notices as people read them: in the release's thread without the release's name on every
//! line (the thread is the release's), in the channel with it; approvers named once, as
//! mentions; states in words.

use super::words::{and_list, step_emoji, Names};
use super::{inert, truncate, CONTENT_LIMIT};
use crate::domain::principal::Principal;
use crate::domain::release::{Notice, Release, ReleaseStatus};
use crate::store::{AuditHeadPost, ChatMessage};

/// Where a notice is read: the release's own thread, or a channel where it needs its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Thread,
    Channel,
}

/// The day's audit head, as posted in the audit channel.
pub fn audit_head_text(head: &AuditHeadPost) -> String {
    let AuditHeadPost { day, row, hash, .. } = head;
    truncate(
        &format!("🔒 Daily audit trail head, {day} (UTC): row {row}, SHA-256 `{hash}`. Keep this message: `trainmaster audit verify` must reach a chain through it."),
        CONTENT_LIMIT,
    )
}

/// The words of a notice.
pub fn notice_text(message: &ChatMessage, names: &Names, place: Place) -> String {
    let release = format!("**Release {} · {}**", message.release_id, inert(&message.release_name));
    // In the thread a line needs no name; in the channel it leads with the release.
    let lead = |emoji: &str, text: String| match place {
        Place::Thread => format!("{emoji} {text}"),
        Place::Channel => format!("{emoji} {release}: {}", lower_first(&text)),
    };
    let mentions = |written: &[String]| names.any_of_written(written);
    let text = match &message.notice {
        Notice::ReleaseStarted { by } => lead("🚀", format!("Started by {}.", inert(by))),
        Notice::PhaseStarted { phase } => lead("▶️", format!("Phase `{phase}` started.")),
        Notice::PhaseFinished { phase, status } => lead(step_emoji(*status), format!("Phase `{phase}` {}.", status.in_words())),
        Notice::PhaseAdvanced { finished, status, started } => {
            let started: Vec<String> = started.iter().map(|p| format!("`{p}`")).collect();
            lead(step_emoji(*status), format!("Phase `{finished}` {} · ▶️ {} started.", status.in_words(), and_list(&started)))
        }
        Notice::ApprovalRequested { activity, approvers, min, level, require, opens_at, .. } => {
            let what = if level.is_empty() {
                format!("Approval `{activity}` needed")
            } else {
                format!("Approval `{activity}` needed, level **{}**", inert(level))
            };
            let needs = super::words::needs(*min, require, names);
            let lock = opens_at.map(|at| format!("\n🔒 Decisions open <t:{0}:F> (<t:{0}:R>).", at.timestamp())).unwrap_or_default();
            lead("🗳️", format!("{what} — {} · {needs}{lock}", mentions(approvers)))
        }
        Notice::ApprovalReminder { activity, approvers, level, approvals, min } => {
            let level = if level.is_empty() { String::new() } else { format!(", level **{}**,", inert(level)) };
            lead("⏰", format!("Approval `{activity}`{level} still waits for {}: {approvals} of {min} so far.", mentions(approvers)))
        }
        Notice::ApprovalEscalated { activity, to, after } => {
            lead("📈", format!("Approval `{activity}` had no decision within {after}; {} may now decide.", mentions(to)))
        }
        Notice::AutoApproved { activity, condition, risk } => {
            lead("🤖", format!("Approval `{activity}` was given automatically: `{}` held (risk {risk}).", inert(condition)))
        }
        Notice::ActivityRetrying { activity, attempt, reason } => {
            lead("🔁", format!("`{activity}` try {} failed: {}. Trying again (try {attempt}).", attempt.saturating_sub(1), inert(reason)))
        }
        Notice::RetryOutcome { activity, attempt, succeeded: true } => lead("✅", format!("`{activity}` succeeded on try {attempt}.")),
        Notice::RetryOutcome { activity, attempt, succeeded: false } => {
            lead("❌", format!("`{activity}` try {attempt} failed too; no tries left."))
        }
        // Not posted: the notifier edits the requests instead.
        Notice::RequestsClosed { why, .. } => lead("🔒", inert(why)),
        Notice::ActivityLink { activity, name, url } => lead("🔗", format!("`{activity}` {}: <{}>", inert(name), inert(url))),
        Notice::Message { text, .. } => format!("📣 {release}: {}", inert(text)),
        Notice::ManualTask { activity, checklist, owner } => {
            let owner = owner.as_deref().map(|o| format!(" for {}", names.mention_str(o))).unwrap_or_default();
            let items: Vec<String> = checklist.lines().filter(|l| !l.trim().is_empty()).map(|l| format!("☐ {}", inert(l.trim()))).collect();
            lead("📋", format!("Task `{activity}`{owner}. Click **Mark done** when it is done.\n{}", items.join("\n")))
        }
        Notice::ReleaseHeld { by, reason } => lead("⏸️", format!("On hold by {}: {}", inert(by), inert(reason))),
        Notice::ReleaseResumed { by } => lead("▶️", format!("Resumed by {}.", inert(by))),
        Notice::ActivityContinued { by, activity, skipped: Some(reason) } => {
            lead("⏭️", format!("{} skipped `{activity}`: {}. The release goes on.", inert(by), inert(reason)))
        }
        Notice::ActivityContinued { by, activity, skipped: None } => lead("🔁", format!("{} retried `{activity}`.", inert(by))),
        Notice::RollbackStarted { reason } => lead("⏪", format!("Rolling back: {}", inert(reason))),
        Notice::AuditHead { row, hash } => {
            format!("🔒 Audit trail head after {release} ended: row {row}, SHA-256 `{hash}`. Keep this message: `trainmaster audit verify` must reach the same head.")
        }
        Notice::StartedEarly { by_secs } => {
            let early = super::human_duration(chrono::Duration::seconds(*by_secs as i64));
            lead("⏩", format!("Started {early} before its planned time."))
        }
        Notice::StartedLate { by_secs } => {
            let late = super::human_duration(chrono::Duration::seconds(*by_secs as i64));
            lead("⏰", format!("Started {late} after its planned time: the bot was not running then."))
        }
        Notice::ScheduledStartRefused { why } => {
            lead("⚠️", format!("Did not start at its planned time: {}. It is a draft again; start or schedule it by hand.", inert(why)))
        }
        Notice::FreezeOverridden { by, freeze, reason } => {
            lead("🧊", format!("Started during the freeze “{}” by {}'s override: {}", inert(freeze), inert(by), inert(reason)))
        }
        // Worded by `end_message` from the release; this is for a release that is gone.
        Notice::ReleaseFinished { status, reason } => {
            let reason = reason.as_deref().map(|r| format!(": {}", inert(r))).unwrap_or_default();
            format!("{} {release} {}{reason}", super::words::release_emoji(*status), status.in_words().to_lowercase())
        }
    };
    truncate(&text, CONTENT_LIMIT)
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
}

/// The end of a release, as one message in the channel: one headline, how long it took, what
/// shipped, who approved per level, links, and what did not succeed.
pub fn end_message(release: &Release, timing: &super::card::Timing) -> String {
    let name = format!("**Release {} · {}**", release.id, inert(&release.name));
    let emoji = super::words::release_emoji(release.status);
    let reason = release.reason.as_deref().map(inert).unwrap_or_default();
    let mut lines = vec![match release.status {
        ReleaseStatus::Success => format!("{emoji} {name} shipped."),
        ReleaseStatus::PartialSuccess => format!("{emoji} {name} partly shipped."),
        ReleaseStatus::Aborted => format!("{emoji} {name} {reason}."),
        _ => format!("{emoji} {name} failed: {reason}"),
    }];
    let mut took = vec![];
    if let (Some(start), Some(end)) = (timing.started, timing.ended) {
        took.push(format!("Took {}", super::human_duration(end - start)));
    }
    if let Some(end) = timing.ended {
        took.push(format!("ended <t:{}:R>", end.timestamp()));
    }
    if !took.is_empty() {
        lines.push(took.join(" · "));
    }
    if matches!(release.status, ReleaseStatus::Success | ReleaseStatus::PartialSuccess) {
        lines.push(format!("What shipped: {}", super::card::inputs_line(release)));
    }
    lines.extend(super::card::approvers(release).map(|a| format!("Approved: {a}")));
    let missed: Vec<String> = release
        .phases
        .iter()
        .flat_map(|p| p.activities.iter())
        .filter(|a| matches!(a.status, crate::domain::release::StepStatus::Ignored | crate::domain::release::StepStatus::Skipped))
        .map(|a| match &a.reason {
            Some(r) => format!("`{}` ({})", a.id, truncate(&inert(r), 200)),
            None => format!("`{}`", a.id),
        })
        .collect();
    if !missed.is_empty() {
        lines.push(format!("Did not succeed: {}", missed.join(", ")));
    }
    let links = super::card::links(release);
    if !links.is_empty() {
        lines.push(format!("Links: {}", links.join(" · ")));
    }
    truncate(&lines.join("\n"), CONTENT_LIMIT)
}

/// The principals a notice's pings name, parsed: what allowed_mentions may list.
pub fn pinged(notice: &Notice) -> Vec<Principal> {
    notice.pings().iter().filter_map(|p| p.parse().ok()).collect()
}
