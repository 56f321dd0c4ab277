//! `/release log`: the audit trail in sentences, one line per entry, newest first:
//! `14:02 olga started the release`, `14:05 quinn approved sign-off (level business)`. Details
//! (the entry's recorded fields) on demand; the raw trail stays the command line's business.

use super::{inert, truncate, CONTENT_LIMIT};
use crate::domain::release::{Release, ReleaseStatus, StepStatus};
use crate::store::AuditRow;
use serde_json::Value;

/// One page of a release's audit trail: page 0 holds the newest entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    pub text: String,
    pub page: usize,
    pub pages: usize,
}

/// Page `page` of the trail, newest first, as many entries as fit one message.
pub fn audit_log(release: &Release, rows: &[AuditRow], page: usize, details: bool) -> AuditPage {
    let header_room = 140 + release.name.chars().count();
    let budget = CONTENT_LIMIT.saturating_sub(header_room);
    // Newest first: the order the header promises, on every page and within it.
    let lines: Vec<String> = rows.iter().rev().map(|r| truncate(&entry(r, details), budget)).collect();
    let mut pages: Vec<(usize, usize)> = vec![];
    let mut start = 0;
    while start < lines.len() {
        let mut end = start;
        let mut used = 0;
        while end < lines.len() && (used + lines[end].chars().count() < budget || end == start) {
            used += lines[end].chars().count() + 1;
            end += 1;
        }
        pages.push((start, end));
        start = end;
    }
    let total = pages.len().max(1);
    let page = page.min(total - 1);
    let (start, end) = pages.get(page).copied().unwrap_or((0, 0));
    let range = if lines.is_empty() {
        "no entries".to_string()
    } else {
        format!("entries {}–{} of {}, newest first", start + 1, end, lines.len())
    };
    let pages_note = if total > 1 { format!(", page {} of {total}", page + 1) } else { String::new() };
    let mut out = format!("**Audit trail of Release {} · {}** ({range}{pages_note})", release.id, inert(&release.name));
    for line in &lines[start..end] {
        out.push('\n');
        out.push_str(line);
    }
    AuditPage { text: truncate(&out, CONTENT_LIMIT), page, pages: total }
}

/// `<t:…:t> olga started the release`, with the entry's details under it when asked.
fn entry(row: &AuditRow, details: bool) -> String {
    let when = chrono::DateTime::parse_from_rfc3339(&row.at).map(|t| format!("<t:{}:t>", t.timestamp())).unwrap_or_else(|_| row.at.clone());
    let mut line = format!("{when} {}", sentence(row));
    if details {
        let fields: Vec<String> = row
            .detail
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{k}: {}", v.as_str().map(String::from).unwrap_or_else(|| v.to_string())))
            .collect();
        if !fields.is_empty() {
            line.push_str(&format!("\n  ↳ `{}`", truncate(&fields.join(" · ").replace('`', "'"), 300)));
        }
    }
    line
}

/// Who acted, as the trail names them.
fn who(actor: &Value) -> String {
    match actor["type"].as_str() {
        Some("user") => inert(actor["name"].as_str().unwrap_or("someone")),
        Some("ci") => "CI".into(),
        _ => "Trainmaster".into(),
    }
}

/// One trail entry as a sentence.
pub fn sentence(row: &AuditRow) -> String {
    let d = &row.detail;
    let who = who(&row.actor);
    let text = |k: &str| d[k].as_str().map(inert).unwrap_or_default();
    let activity = format!("`{}`", text("activity"));
    let phase = format!("`{}`", text("phase"));
    let because = |k: &str| d[k].as_str().filter(|r| !r.is_empty()).map(|r| format!(": {}", inert(r))).unwrap_or_default();
    let step = || serde_json::from_value::<StepStatus>(d["status"].clone()).map(|s| s.in_words()).unwrap_or("finished");
    let level = d["level"].as_str().filter(|l| !l.is_empty()).map(|l| format!(" (level {})", inert(l))).unwrap_or_default();
    let on_try = d["attempt"].as_u64().filter(|a| *a > 1).map(|a| format!(" on try {a}")).unwrap_or_default();
    let sentence = match row.action.as_str() {
        "release_created" => format!("{who} created the release"),
        "release_edited" => format!("{who} edited the draft"),
        "release_deleted" => format!("{who} deleted the draft"),
        "release_started" => format!("{who} started the release"),
        "release_held" => format!("{who} put the release on hold{}", because("reason")),
        "release_resumed" => format!("{who} resumed the release"),
        "release_aborted" => format!("{who} aborted the release{}", because("reason")),
        "release_finished" => {
            let status = serde_json::from_value::<ReleaseStatus>(d["status"].clone()).map(|s| s.in_words().to_lowercase());
            format!("the release ended: {}{}", status.as_deref().unwrap_or("finished"), because("reason"))
        }
        "phase_started" => format!("phase {phase} started"),
        "phase_finished" => format!("phase {phase} {}", step()),
        "phase_skipped" => format!("phase {phase} was skipped{}", because("reason")),
        "activity_started" => format!("{activity} started{on_try}"),
        "activity_waiting" => format!("{activity} is waiting for people"),
        "activity_finished" => format!("{activity} {}{on_try}{}", step(), because("reason")),
        "activity_retry_scheduled" => {
            format!("{activity} try {} failed{}; it is tried again", d["failed_attempt"].as_u64().unwrap_or(1), because("reason"))
        }
        "activity_retried" => format!("{who} retried {activity}"),
        "activity_skipped" => format!("{who} skipped {activity}{}", because("reason")),
        "approval_given" => format!("{who} approved {activity}{level}"),
        "approval_rejected" => format!("{who} rejected {activity}{level}{}", because("reason")),
        "approval_level_complete" => format!("{activity}{level} has all its approvals"),
        "approval_auto" => format!("{activity} was approved automatically"),
        "approval_reminded" => format!("approvers of {activity} were reminded"),
        "approval_escalated" => format!("{activity} was escalated"),
        "approval_expired" => format!("{activity} expired without a decision"),
        "manual_task_done" => format!("{who} marked {activity} done"),
        "check_passed" => format!("check {activity} passed"),
        "webhook_accepted" => format!("{activity}'s receiver took the work and will call back"),
        "webhook_following" => format!("{activity} is followed until its run ends"),
        "rollback_started" => format!("the rollback started{}", because("reason")),
        "approval_refused" => format!("{who} was refused a decision on {activity}{}", because("why")),
        "callback_refused" => format!("a callback for {activity} was refused{}", because("why")),
        "stale_result_ignored" => format!("a late result for {activity} was recorded and ignored"),
        "subprocess_started" => format!("{activity} started a child release"),
        "delivery_set_aside" => format!("a chat message could not be delivered and was set aside{}", because("why")),
        other => format!("{who}: {}", other.replace('_', " ")),
    };
    sentence
}
