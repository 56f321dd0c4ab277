//! The release card: its first line answers "where is it?" (state in words and what it waits
//! for), phases that are done collapse to one line each, and once the release has ended the card
//! shrinks to its outcome. The release id and the process version are in the footer.

use super::words::{release_emoji, step_emoji, Names};
use super::{human_duration, inert, truncate, TITLE_LIMIT};
use crate::domain::approval;
use crate::domain::process::ActivityKind;
use crate::domain::release::{ActivityRun, PhaseRun, Release, ReleaseStatus, StepStatus};
use chrono::{DateTime, Utc};
use poise::serenity_prelude as serenity;

/// Discord's limit on an embed's description.
const DESCRIPTION_LIMIT: usize = 4_096;

/// When a release started and ended, from its trail (the release row keeps neither).
#[derive(Debug, Clone, Default)]
pub struct Timing {
    pub started: Option<DateTime<Utc>>,
    pub ended: Option<DateTime<Utc>>,
    /// The link to the release's advance shipping notice, once posted: the card points back to it.
    pub advance_notice: Option<String>,
}

impl Timing {
    /// From the times the trail recorded (RFC 3339): the last start and the end.
    pub fn from_times(started: Option<&str>, ended: Option<&str>) -> Self {
        let at = |t: Option<&str>| t.and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc));
        Self { started: at(started), ended: at(ended), advance_notice: None }
    }

    /// `shipped in 42 min`'s duration, once the release has both ends.
    fn took(&self) -> Option<String> {
        Some(human_duration(self.ended? - self.started?))
    }
}

/// The release's state as its card's title words it, after `Release 12 · Week 47 — `:
/// `waiting for @QA on qa-approval (0/1)`, `shipped in 42 min`, `failed at deploy-api`, …
pub fn headline(release: &Release, names: &Names, timing: &Timing) -> String {
    let took = timing.took().map(|t| format!(" in {t}")).unwrap_or_default();
    match release.status {
        ReleaseStatus::Draft => "draft, not started".into(),
        // Titles do not render Discord timestamps: the time in the process's zone.
        ReleaseStatus::NotStarted => match &release.schedule {
            Some(s) => {
                format!("starts {}", crate::domain::planning::local(s.at, release.process.time_zone.parse().unwrap_or(chrono_tz::UTC)))
            }
            None => "not started yet".into(),
        },
        ReleaseStatus::OnHold => "on hold".into(),
        ReleaseStatus::Running => running_headline(release, names),
        ReleaseStatus::Success => format!("shipped{took}"),
        ReleaseStatus::PartialSuccess => {
            let failed = activities(release).filter(|a| matches!(a.status, StepStatus::Ignored | StepStatus::Skipped)).count();
            format!("partly shipped{took}: {failed} step{} did not succeed", if failed == 1 { "" } else { "s" })
        }
        ReleaseStatus::Failed => match activities(release).find(|a| a.status == StepStatus::Failed) {
            Some(a) => format!("failed at {}", a.id),
            None => format!("failed: {}", release.reason.as_deref().unwrap_or("no reason recorded")),
        },
        ReleaseStatus::Aborted => release.reason.clone().unwrap_or_else(|| "aborted".into()),
    }
}

/// What a running release waits for: people first (they must act), else what runs.
fn running_headline(release: &Release, names: &Names) -> String {
    if let Some((run, waiting)) = activities(release).find_map(|a| waiting_for_people(release, a, names).map(|w| (a, w))) {
        return format!("waiting for {} on {}{}", waiting.plain, run.id, waiting.count);
    }
    let running: Vec<&str> = activities(release).filter(|a| a.status == StepStatus::Running).map(|a| a.id.as_str()).collect();
    let waiting: Vec<&str> = activities(release).filter(|a| a.status == StepStatus::Waiting).map(|a| a.id.as_str()).collect();
    match (running.as_slice(), waiting.as_slice()) {
        ([], []) => "running".into(),
        ([], w) => format!("waiting on {}", w.join(", ")),
        (r, _) => format!("running {}", r.join(", ")),
    }
}

/// Who an activity waits for, in a title's words and as mentions, with its count.
struct Waiting {
    plain: String,
    mentions: String,
    count: String,
}

fn waiting_for_people(release: &Release, run: &ActivityRun, names: &Names) -> Option<Waiting> {
    if run.status != StepStatus::OnHold {
        return None;
    }
    let activity = release.process.activity(&run.id)?;
    match &activity.kind {
        ActivityKind::Approval(spec) => {
            let open = approval::open_level(spec, run).unwrap_or(0);
            let levels = spec.levels();
            let level = levels.get(open)?;
            let deciders = approval::deciders(spec, open, run.approval.escalated);
            // Titles show no mentions: roles by name, people as "a named approver".
            let mut plain: Vec<String> = vec![];
            for p in &deciders {
                let shown = match p {
                    crate::domain::principal::Principal::User(_) => "a named approver".to_string(),
                    role => format!("@{}", names.plain(role)),
                };
                if !plain.contains(&shown) {
                    plain.push(shown);
                }
            }
            let level_name = if level.name.is_empty() { String::new() } else { format!(" ({})", level.name) };
            Some(Waiting {
                plain: format!("{}{level_name}", super::words::or_list(&plain)),
                mentions: names.any_of(&deciders),
                count: format!(" ({}/{})", approval::approvals_at(run, open), level.min),
            })
        }
        ActivityKind::Manual(_) => {
            let owner = activity.owner.as_ref();
            Some(Waiting {
                plain: owner.map(|o| format!("@{}", names.plain(o))).unwrap_or_else(|| "someone".into()),
                mentions: owner.map(|o| names.mention(o)).unwrap_or_else(|| "anyone who may".into()),
                count: String::new(),
            })
        }
        _ => None,
    }
}

fn activities(release: &Release) -> impl Iterator<Item = &ActivityRun> {
    release.phases.iter().flat_map(|p| p.activities.iter())
}

/// The title: `⏳ Release 12 · Week 47 — waiting for @QA on sign-off (0/1)`.
pub fn title(release: &Release, names: &Names, timing: &Timing) -> String {
    let waits = release.status == ReleaseStatus::Running && activities(release).any(|a| a.status == StepStatus::OnHold);
    let emoji = if waits { "⏳" } else { release_emoji(release.status) };
    truncate(&format!("{emoji} Release {} · {} — {}", release.id, inert(&release.name), headline(release, names, timing)), TITLE_LIMIT)
}

/// How much a card shows: the live card shrinks once the release ended; `/release status`
/// always shows every phase and activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    Live,
    Full,
}

/// The card, in the notices channel or as a command's answer.
pub fn card(release: &Release, names: &Names, timing: &Timing, detail: Detail) -> serenity::CreateEmbed {
    let description = match (release.status.is_finished(), detail) {
        (true, Detail::Live) => ended(release, timing),
        (true, Detail::Full) => format!("{}\n\n{}", ended(release, timing), phases(release, true, 3_000)),
        (false, _) => in_flight(release, names, timing, detail == Detail::Full),
    };
    let footer = format!(
        "Release {} · {} · process {} version {}",
        release.id,
        release.status.in_words(),
        release.process.name,
        release.process.version
    );
    serenity::CreateEmbed::new()
        .title(title(release, names, timing))
        .description(truncate(&description, DESCRIPTION_LIMIT))
        .colour(colour(release.status))
        .footer(serenity::CreateEmbedFooter::new(truncate(&footer, 300)))
}

/// A release not ended yet: progress, what waits, its inputs, then one line per phase (the
/// current ones with their activities).
fn in_flight(release: &Release, names: &Names, timing: &Timing, all: bool) -> String {
    let mut lines = vec![progress(release)];
    if let Some(s) = release.schedule.as_ref().filter(|_| release.status == ReleaseStatus::NotStarted) {
        let by = s.by.as_ref().map(|a| format!(", as {}", inert(&a.display_name))).unwrap_or_else(|| ", by its release group".into());
        lines.push(format!("🗓️ Starts by itself <t:{0}:F> (<t:{0}:R>){by}", s.at.timestamp()));
    }
    if let Some(link) = &timing.advance_notice {
        lines.push(format!("📦 [Advance notice]({link})"));
    }
    for run in activities(release) {
        if let Some(w) = waiting_for_people(release, run, names) {
            lines.push(format!("⏳ `{}` waits for {}{}", run.id, w.mentions, w.count));
        }
    }
    if let Some(manager) = &release.process.release_manager {
        lines.push(format!("Release manager: {}", names.mention(manager)));
    }
    if !release.process.risk.is_empty() && release.status != ReleaseStatus::Draft {
        lines.push(format!("Risk: {}", super::risk_text(&release.risk)));
    }
    lines.push(truncate(&format!("Inputs: {}", inputs_line(release)), 600));
    lines.push(String::new());
    // Phases share what room is left, so a release of any size stays within the limit.
    let room = DESCRIPTION_LIMIT.saturating_sub(lines.iter().map(|l| l.chars().count() + 1).sum::<usize>() + 40);
    lines.push(phases(release, all, room));
    lines.join("\n")
}

/// One block per phase, within `room` characters; `all` opens every phase, not only the current.
fn phases(release: &Release, all: bool, room: usize) -> String {
    let mut phases = String::new();
    for (i, phase) in release.phases.iter().enumerate() {
        let block = phase_block(phase, all);
        if phases.chars().count() + block.chars().count() + 1 > room {
            phases.push_str(&format!("… and {} more phases", release.phases.len() - i));
            break;
        }
        phases.push_str(&block);
        phases.push('\n');
    }
    phases.trim_end().to_string()
}

/// One line for a phase that is done or not begun; the running one shows its activities.
fn phase_block(phase: &PhaseRun, all: bool) -> String {
    let failed_quietly = phase.activities.iter().any(|a| matches!(a.status, StepStatus::Ignored | StepStatus::Skipped));
    let emoji = if phase.status == StepStatus::Success && failed_quietly { "⚠️" } else { step_emoji(phase.status) };
    let steps = phase.activities.len();
    let mut block = format!("{emoji} **{}** · {} · {steps} step{}", phase.id, phase.status.in_words(), if steps == 1 { "" } else { "s" });
    let open = all || matches!(phase.status, StepStatus::Running | StepStatus::Waiting | StepStatus::OnHold | StepStatus::Failed);
    for a in phase.activities.iter().filter(|a| open || matches!(a.status, StepStatus::Ignored | StepStatus::Skipped)) {
        block.push_str(&format!("\n  {} `{}` {}", step_emoji(a.status), a.id, a.status.in_words()));
        if let Some(reason) =
            a.reason.as_ref().filter(|_| matches!(a.status, StepStatus::Failed | StepStatus::Ignored | StepStatus::Skipped))
        {
            block.push_str(&format!(": {}", truncate(&inert(reason), 200)));
        }
    }
    block
}

/// An ended release: how it ended, how long it took, who approved, its links; the rest is one
/// `/release status` away.
fn ended(release: &Release, timing: &Timing) -> String {
    let mut lines = vec![];
    let mut took = vec![];
    if let Some(t) = timing.took() {
        took.push(format!("Took {t}"));
    }
    if let Some(end) = timing.ended {
        took.push(format!("ended <t:{}:R>", end.timestamp()));
    }
    if !took.is_empty() {
        lines.push(took.join(" · "));
    }
    lines.extend(approvers(release).map(|a| format!("Approved: {a}")));
    let links = links(release);
    if !links.is_empty() {
        lines.push(format!("Links: {}", links.join(" · ")));
    }
    lines.push(format!("Details: `/release status release:{}`", release.id));
    lines.join("\n")
}

/// Who approved each approval, per level: "`sign-off` business: pat · technical: tess".
pub fn approvers(release: &Release) -> impl Iterator<Item = String> + '_ {
    activities(release).filter(|a| a.decisions.iter().any(|d| d.approve)).map(|a| {
        let levels = match release.process.activity(&a.id).map(|s| &s.kind) {
            Some(ActivityKind::Approval(spec)) => spec.levels.iter().map(|l| l.name.clone()).collect(),
            _ => vec![],
        };
        let by = |level: Option<u32>| -> String {
            let names: Vec<String> =
                a.decisions.iter().filter(|d| d.approve && level.is_none_or(|l| d.level == l)).map(|d| inert(&d.shown_name())).collect();
            super::words::and_list(&names)
        };
        if levels.is_empty() {
            return format!("`{}` by {}", a.id, by(None));
        }
        let per_level: Vec<String> = levels
            .iter()
            .enumerate()
            .map(|(i, name)| (name, by(Some(i as u32))))
            .filter(|(_, b)| !b.is_empty())
            .map(|(n, b)| format!("{n}: {b}"))
            .collect();
        format!("`{}` {}", a.id, per_level.join(" · "))
    })
}

/// Links the release's activities returned, as Discord links.
pub fn links(release: &Release) -> Vec<String> {
    activities(release)
        .flat_map(|a| a.outputs.iter().map(move |(name, value)| (a, name, value)))
        .filter_map(|(a, name, value)| {
            let url = value.as_str().filter(|v| v.starts_with("https://") || v.starts_with("http://"))?;
            Some(format!("`{}` {}: {}", a.id, inert(name), inert(url)))
        })
        .collect()
}

/// The inputs on one line: "`version` 1.4.0 · `services` api, web".
pub fn inputs_line(release: &Release) -> String {
    if release.inputs.0.is_empty() {
        return "none".into();
    }
    release.inputs.0.iter().map(|(k, v)| format!("`{k}` {}", inert(&v.to_string()))).collect::<Vec<_>>().join(" · ")
}

/// `▰▰✖▱▱ 2 of 5 phases done · 1 failed`: succeeded phases filled, failed ones crossed, scaled
/// to at most ten blocks.
pub fn progress(release: &Release) -> String {
    let total = release.phases.len();
    let done =
        release.phases.iter().filter(|p| matches!(p.status, StepStatus::Success | StepStatus::Skipped | StepStatus::Ignored)).count();
    let failed = release.phases.iter().filter(|p| matches!(p.status, StepStatus::Failed | StepStatus::Aborted)).count();
    let failed_note = if failed > 0 { format!(" · {failed} failed") } else { String::new() };
    format!("{} {done} of {total} phases done{failed_note}", bar(done, failed, total))
}

/// The bar alone: `▰` per succeeded part, `✖` per failed part (at least one when any failed).
pub fn bar(done: usize, failed: usize, total: usize) -> String {
    let width = total.clamp(1, 10);
    let filled = (done * width).checked_div(total).unwrap_or(0).min(width);
    let crossed = if failed > 0 { ((failed * width).checked_div(total).unwrap_or(0)).max(1).min(width - filled) } else { 0 };
    "▰".repeat(filled) + &"✖".repeat(crossed) + &"▱".repeat(width - filled - crossed)
}

pub fn colour(status: ReleaseStatus) -> serenity::Colour {
    match status {
        ReleaseStatus::Draft | ReleaseStatus::NotStarted => serenity::Colour::LIGHT_GREY,
        ReleaseStatus::Running => serenity::Colour::BLUE,
        ReleaseStatus::OnHold | ReleaseStatus::PartialSuccess => serenity::Colour::ORANGE,
        ReleaseStatus::Success => serenity::Colour::DARK_GREEN,
        ReleaseStatus::Failed | ReleaseStatus::Aborted => serenity::Colour::RED,
    }
}
