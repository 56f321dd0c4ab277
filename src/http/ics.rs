//! The plan as an iCalendar feed (RFC 5545) that Google Calendar and Outlook subscribe to: one
//! VEVENT per planned release and per freeze window, times in UTC (no VTIMEZONE needed), lines
//! folded at 75 octets, text escaped.

use crate::domain::planning::Calendar;
use crate::domain::release::ReleaseStatus;
use chrono::{DateTime, Utc};

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// TEXT values escape backslash, semicolon, comma and newline (RFC 5545 §3.3.11).
fn text(value: &str) -> String {
    value.replace('\\', "\\\\").replace(';', "\\;").replace(',', "\\,").replace('\n', "\\n").replace('\r', "")
}

/// Folds a content line at 75 octets, never inside a UTF-8 character (§3.1).
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
    out
}

/// The feed for `plan`; `installation` makes every UID unique to this database, `now` is DTSTAMP.
pub fn feed(plan: &Calendar, installation: &str, now: DateTime<Utc>) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".into(),
        "PRODID:-//Trainmaster//Release plan//EN".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        "X-WR-CALNAME:Trainmaster releases".into(),
    ];
    for e in &plan.entries {
        let status = match e.status {
            ReleaseStatus::NotStarted | ReleaseStatus::Draft => "TENTATIVE",
            ReleaseStatus::Aborted => "CANCELLED",
            _ => "CONFIRMED",
        };
        let conflicts = match e.conflicts.as_slice() {
            [] => String::new(),
            ids => format!(" Conflicts with {}.", ids.iter().map(|i| format!("release {i}")).collect::<Vec<_>>().join(", ")),
        };
        lines.extend([
            "BEGIN:VEVENT".to_string(),
            format!("UID:release-{}@{}", e.id, installation),
            format!("DTSTAMP:{}", stamp(now)),
            format!("DTSTART:{}", stamp(e.from)),
            format!("DTEND:{}", stamp(e.to)),
            format!("SUMMARY:{}", text(&format!("Release {} · {}", e.id, e.name))),
            format!("DESCRIPTION:{}", text(&format!("Process {}. {}.{conflicts}", e.process, crate::picture::planned_words(e.status)))),
            format!("STATUS:{status}"),
            "END:VEVENT".into(),
        ]);
    }
    for (i, (name, from, to)) in plan.freezes.iter().enumerate() {
        lines.extend([
            "BEGIN:VEVENT".to_string(),
            format!("UID:freeze-{}-{i}@{installation}", stamp(*from)),
            format!("DTSTAMP:{}", stamp(now)),
            format!("DTSTART:{}", stamp(*from)),
            format!("DTEND:{}", stamp(*to)),
            format!("SUMMARY:{}", text(&format!("Freeze: {name}"))),
            "TRANSP:TRANSPARENT".into(),
            "END:VEVENT".into(),
        ]);
    }
    lines.push("END:VCALENDAR".into());
    lines.iter().map(|l| fold(l)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_a_character_and_text_is_escaped() {
        let line = format!("SUMMARY:{}", "é".repeat(60));
        let folded = fold(&line);
        assert!(folded.split("\r\n").all(|l| l.len() <= 75), "{folded:?}");
        assert_eq!(folded.replace("\r\n ", "").trim_end(), line);
        assert_eq!(text("a; b, c\\d\ne"), "a\\; b\\, c\\\\d\\ne");
    }
}
