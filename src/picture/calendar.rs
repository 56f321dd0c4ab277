//! The calendar picture: one column per day, a lane per release with a bar over its planned
//! window coloured by status, freeze windows shaded, conflicting bars outlined in red.

use super::escape;
use crate::domain::planning::Calendar;
use crate::domain::release::ReleaseStatus;
use chrono::{DateTime, Datelike, TimeZone, Utc};
use std::fmt::Write as _;

const HEADER: f64 = 46.0;
const LANE: f64 = 30.0;
const FOOTER: f64 = 34.0;
/// Lanes drawn at most; the text twin lists every release.
pub const MAX_LANES: usize = 40;

/// The calendar's width: 7 days at 160 px, a month at 44 px a day.
fn day_width(days: usize) -> f64 {
    if days <= 7 {
        160.0
    } else {
        44.0
    }
}

fn colour(status: ReleaseStatus) -> &'static str {
    match status {
        ReleaseStatus::Draft => "#b9bbbe",
        ReleaseStatus::NotStarted => "#5865f2",
        ReleaseStatus::Running => "#faa61a",
        ReleaseStatus::OnHold => "#e3c000",
        ReleaseStatus::Success => "#3ba55c",
        ReleaseStatus::PartialSuccess => "#7fb13b",
        ReleaseStatus::Failed => "#ed4245",
        ReleaseStatus::Aborted => "#747f8d",
    }
}

/// A status on the plan: a NotStarted release is *scheduled* there.
pub fn planned_words(status: ReleaseStatus) -> String {
    match status {
        ReleaseStatus::NotStarted => "scheduled".into(),
        other => other.in_words().to_lowercase(),
    }
}

/// The local midnights from the period's first day to its end.
fn days(plan: &Calendar) -> Vec<DateTime<Utc>> {
    let tz = plan.time_zone;
    let mut day = plan.from.with_timezone(&tz).date_naive();
    let mut out = vec![];
    while out.len() < 62 {
        let Some(midnight) = day.and_hms_opt(0, 0, 0).and_then(|m| tz.from_local_datetime(&m).earliest()) else { break };
        let midnight = midnight.with_timezone(&Utc);
        if midnight >= plan.to {
            break;
        }
        out.push(midnight);
        day = day.succ_opt().unwrap_or(day);
    }
    out
}

/// The picture as SVG.
pub fn calendar_svg(plan: &Calendar) -> String {
    let days = days(plan);
    let columns = days.len().max(1);
    let dw = day_width(columns);
    let width = dw * columns as f64;
    let lanes = plan.entries.len().clamp(1, MAX_LANES);
    let height = HEADER + LANE * lanes as f64 + FOOTER;
    let span = (plan.to - plan.from).num_seconds().max(1) as f64;
    let x = |t: DateTime<Utc>| ((t - plan.from).num_seconds() as f64 / span * width).clamp(0.0, width);
    let mut svg = String::new();
    let _ =
        write!(svg, r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="Ubuntu" font-size="13">"#);
    let _ = write!(svg, r##"<rect width="{width}" height="{height}" fill="#ffffff"/>"##);
    for (name, from, to) in &plan.freezes {
        let (a, b) = (x(*from), x(*to));
        let _ = write!(
            svg,
            r##"<rect x="{a}" y="{HEADER}" width="{}" height="{}" fill="#cfe8ff" opacity="0.8"/>"##,
            (b - a).max(2.0),
            LANE * lanes as f64
        );
        let _ =
            write!(svg, r##"<text x="{}" y="{}" fill="#1f6fb2" font-size="11">Freeze: {}</text>"##, a + 4.0, HEADER + 12.0, escape(name));
    }
    let tz = plan.time_zone;
    for (i, day) in days.iter().enumerate() {
        let left = i as f64 * dw;
        let local = day.with_timezone(&tz);
        let weekend = local.weekday().num_days_from_monday() >= 5;
        if weekend {
            let _ = write!(svg, r##"<rect x="{left}" y="0" width="{dw}" height="{HEADER}" fill="#f2f3f5"/>"##);
        }
        let label = if columns <= 7 { local.format("%a %-d %b").to_string() } else { local.format("%-d").to_string() };
        let _ = write!(svg, r##"<text x="{}" y="28" fill="#2e3338" font-size="14">{}</text>"##, left + 6.0, escape(&label));
        let _ = write!(svg, r##"<line x1="{left}" y1="0" x2="{left}" y2="{}" stroke="#dcddde"/>"##, height - FOOTER);
    }
    let _ = write!(svg, r##"<line x1="0" y1="{HEADER}" x2="{width}" y2="{HEADER}" stroke="#b9bbbe"/>"##);
    for (lane, entry) in plan.entries.iter().take(MAX_LANES).enumerate() {
        let top = HEADER + lane as f64 * LANE + 4.0;
        let (a, b) = (x(entry.from), x(entry.to));
        let w = (b - a).max(6.0);
        let outline = if entry.conflicts.is_empty() { String::new() } else { r##" stroke="#ed4245" stroke-width="3""##.to_string() };
        let _ = write!(
            svg,
            r##"<rect x="{a}" y="{top}" width="{w}" height="{}" rx="4" fill="{}"{outline}/>"##,
            LANE - 8.0,
            colour(entry.status)
        );
        let mark = if entry.conflicts.is_empty() { "" } else { " ! conflict" };
        let label = format!("#{} {} · {}{mark}", entry.id, entry.name, planned_words(entry.status));
        let _ = write!(svg, r##"<text x="{}" y="{}" fill="#060607">{}</text>"##, a + 5.0, top + 16.0, escape(&label));
    }
    if plan.entries.is_empty() {
        let _ = write!(svg, r##"<text x="12" y="{}" fill="#4f5660">Nothing planned in this period.</text>"##, HEADER + 20.0);
    }
    let legend = [
        (ReleaseStatus::NotStarted, "scheduled"),
        (ReleaseStatus::Running, "running"),
        (ReleaseStatus::Success, "shipped"),
        (ReleaseStatus::Failed, "failed"),
        (ReleaseStatus::Aborted, "aborted"),
    ];
    let base = height - FOOTER + 12.0;
    for (i, (status, word)) in legend.iter().enumerate() {
        let left = 8.0 + i as f64 * 110.0;
        let _ = write!(svg, r##"<rect x="{left}" y="{base}" width="14" height="14" rx="3" fill="{}"/>"##, colour(*status));
        let _ = write!(svg, r##"<text x="{}" y="{}" fill="#2e3338" font-size="12">{word}</text>"##, left + 19.0, base + 12.0);
    }
    let tz_note = format!("times in {}", tz.name());
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" fill="#4f5660" font-size="12" text-anchor="end">{}</text>"##,
        width - 8.0,
        base + 12.0,
        escape(&tz_note)
    );
    svg.push_str("</svg>");
    svg
}

/// The picture as PNG.
pub fn calendar_png(plan: &Calendar) -> anyhow::Result<Vec<u8>> {
    super::png(&calendar_svg(plan))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::planning::CalendarEntry;
    use crate::domain::ReleaseId;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn a_week_is_seven_columns_wide_and_one_lane_per_release_high_and_encodes_as_png() {
        let plan = Calendar {
            from: utc("2026-12-06T23:00:00Z"),
            to: utc("2026-12-13T23:00:00Z"),
            time_zone: chrono_tz::Europe::Berlin,
            entries: vec![
                CalendarEntry {
                    id: ReleaseId(1),
                    name: "Week 50 <prod>".into(),
                    process: "shop".into(),
                    status: ReleaseStatus::NotStarted,
                    from: utc("2026-12-10T13:00:00Z"),
                    to: utc("2026-12-10T15:00:00Z"),
                    conflicts: vec![ReleaseId(2)],
                },
                CalendarEntry {
                    id: ReleaseId(2),
                    name: "Hotfix".into(),
                    process: "shop".into(),
                    status: ReleaseStatus::NotStarted,
                    from: utc("2026-12-10T14:00:00Z"),
                    to: utc("2026-12-10T15:00:00Z"),
                    conflicts: vec![ReleaseId(1)],
                },
            ],
            freezes: vec![("Year-end".into(), utc("2026-12-12T23:00:00Z"), utc("2027-01-04T23:00:00Z"))],
        };
        let svg = calendar_svg(&plan);
        assert!(svg.contains("Week 50 &lt;prod&gt;") && svg.contains("! conflict") && svg.contains("Year-end"));
        let png = calendar_png(&plan).unwrap_or_else(|e| panic!("{e:#}"));
        if let Some(dir) = std::env::var_os("TRAINMASTER_CHAT_DUMP") {
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(std::path::Path::new(&dir).join("calendar-week.png"), &png);
        }
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height, big-endian, at bytes 16..24.
        let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
        let height = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
        assert_eq!((width, height), (7 * 160, (HEADER + 2.0 * LANE + FOOTER) as u32));
    }
}
