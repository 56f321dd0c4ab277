//! A release's timeline: phases, then activities, as bars on a time axis; holds shaded, tries
//! counted on the bars, approvals as markers with who decided.

use super::escape;
use crate::domain::insight::report::Report;
use chrono::{DateTime, Utc};
use std::fmt::Write as _;

const WIDTH: f64 = 1000.0;
const LABEL: f64 = 180.0;
const ROW: f64 = 24.0;
const TOP: f64 = 40.0;
/// Rows drawn at most; the attachments list every activity.
const MAX_ROWS: usize = 60;

/// One bar: its label, status, start, end (`None`: still running) and a note after it.
struct Bar {
    label: String,
    status: String,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    note: String,
}

pub fn timeline_svg(r: &Report, now: DateTime<Utc>) -> String {
    let start = r.started.unwrap_or(now);
    let end = r.ended.unwrap_or(now).max(start + chrono::Duration::seconds(1));
    let span = (end - start).num_seconds().max(1) as f64;
    let x = |t: DateTime<Utc>| LABEL + ((t - start).num_seconds() as f64 / span * (WIDTH - LABEL - 20.0)).clamp(0.0, WIDTH - LABEL - 20.0);
    let rows: Vec<Bar> = r
        .phases
        .iter()
        .map(|p| Bar { label: format!("phase {}", p.id), status: p.status.clone(), from: p.start, to: p.end, note: String::new() })
        .chain(r.activities.iter().map(|a| {
            let note = if a.tries > 1 { format!("{} tries", a.tries) } else { String::new() };
            Bar { label: a.id.clone(), status: a.status.clone(), from: a.start, to: a.end, note }
        }))
        .take(MAX_ROWS)
        .collect();
    let height = TOP + ROW * rows.len().max(1) as f64 + 30.0;
    let mut svg = String::new();
    let _ =
        write!(svg, r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="Ubuntu" font-size="12">"#);
    let _ = write!(svg, r##"<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>"##);
    let title = format!("Release {} · {} — {}", r.release, r.name, r.status);
    let _ = write!(svg, r##"<text x="10" y="24" fill="#2e3338" font-size="15">{}</text>"##, escape(&title));
    for (i, Bar { label, status, from, to, note }) in rows.iter().enumerate() {
        let y = TOP + i as f64 * ROW;
        let colour = match status.as_str() {
            "success" => "#3ba55c",
            "failed" | "aborted" => "#ed4245",
            "skipped" | "ignored" => "#b9bbbe",
            _ => "#faa61a",
        };
        let (a, b) = (x(*from), x(to.unwrap_or(end)));
        let _ = write!(svg, r##"<text x="8" y="{}" fill="#2e3338">{}</text>"##, y + 16.0, escape(label));
        let _ =
            write!(svg, r##"<rect x="{a}" y="{}" width="{}" height="{}" rx="3" fill="{colour}"/>"##, y + 4.0, (b - a).max(3.0), ROW - 8.0);
        if !note.is_empty() {
            let _ = write!(
                svg,
                r##"<text x="{}" y="{}" fill="#4f5660" font-size="11">{}</text>"##,
                b + 4.0,
                y + 16.0,
                escape(note.trim_start_matches(" · "))
            );
        }
        for approval in r.approvals.iter().filter(|ap| *label == ap.activity) {
            let ax = x(approval.at);
            let mark = if approval.approved { "#3ba55c" } else { "#ed4245" };
            let _ = write!(svg, r##"<circle cx="{ax}" cy="{}" r="5" fill="{mark}" stroke="#060607"/>"##, y + ROW / 2.0);
            // Near the right edge the name goes left of the marker.
            let (lx, anchor) = if ax > WIDTH - 80.0 { (ax - 7.0, "end") } else { (ax + 7.0, "start") };
            let _ = write!(
                svg,
                r##"<text x="{lx}" y="{}" fill="#060607" font-size="11" text-anchor="{anchor}">{}</text>"##,
                y + 16.0,
                escape(&approval.by)
            );
        }
    }
    // Holds over the bars, half transparent: time the release stood still.
    for h in &r.holds {
        let (a, b) = (x(h.from), x(h.to.unwrap_or(end)));
        let _ = write!(
            svg,
            r##"<rect x="{a}" y="{TOP}" width="{}" height="{}" fill="#f0b232" opacity="0.45"/>"##,
            (b - a).max(2.0),
            ROW * rows.len() as f64
        );
        let _ = write!(svg, r##"<text x="{}" y="{}" fill="#7a5a00" font-size="11">on hold</text>"##, a + 3.0, TOP - 4.0);
    }
    let foot = format!("{} to {} (UTC)", start.format("%a %-d %b %H:%M"), end.format("%a %-d %b %H:%M"));
    let _ = write!(svg, r##"<text x="{LABEL}" y="{}" fill="#4f5660">{}</text>"##, height - 10.0, escape(&foot));
    svg.push_str("</svg>");
    svg
}

pub fn timeline_png(r: &Report, now: DateTime<Utc>) -> anyhow::Result<Vec<u8>> {
    super::png(&timeline_svg(r, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::insight::report::{report, TrailEntry};

    #[test]
    fn a_timeline_has_a_row_per_phase_and_activity_and_marks_who_approved() {
        let at = |m: i64| DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(20_000) + chrono::Duration::minutes(m);
        let e = |m: i64, actor: &str, action: &str, detail: serde_json::Value| TrailEntry {
            at: at(m),
            actor: actor.into(),
            action: action.into(),
            detail,
        };
        let trail = vec![
            e(0, "alice", "release_started", serde_json::json!({})),
            e(0, "-", "phase_started", serde_json::json!({"phase": "qa"})),
            e(0, "-", "activity_started", serde_json::json!({"activity": "qa-approval", "kind": "approval"})),
            e(5, "olga", "release_held", serde_json::json!({"reason": "x"})),
            e(9, "olga", "release_resumed", serde_json::json!({})),
            e(20, "bob", "approval_given", serde_json::json!({"activity": "qa-approval"})),
            e(20, "-", "activity_finished", serde_json::json!({"activity": "qa-approval", "status": "Success"})),
            e(20, "-", "phase_finished", serde_json::json!({"phase": "qa", "status": "Success"})),
            e(20, "-", "release_finished", serde_json::json!({})),
        ];
        let r = report(1, "Week 47", "shop", "Shipped", &trail, at(30));
        let svg = timeline_svg(&r, at(30));
        assert!(svg.contains(">phase qa<") && svg.contains(">qa-approval<") && svg.contains(">bob<"), "{svg}");
        let png = timeline_png(&r, at(30)).unwrap_or_else(|e| panic!("{e:#}"));
        if let Some(dir) = std::env::var_os("TRAINMASTER_CHAT_DUMP") {
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(std::path::Path::new(&dir).join("timeline.png"), &png);
        }
        let height = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
        assert_eq!(height, (TOP + 2.0 * ROW + 30.0) as u32);
    }
}
