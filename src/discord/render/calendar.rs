//! The calendar's text twin: the same plan as a list, for screen readers and for people who
//! would rather read than look.

use super::{inert, truncate, CONTENT_LIMIT};
use crate::domain::planning::{local, Calendar};

/// `🗓️ Plan for Mon 7 Dec – Mon 14 Dec 2026 (Europe/Berlin)` and one line per release and freeze.
pub fn calendar_text(plan: &Calendar) -> String {
    let tz = plan.time_zone;
    let day = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).format("%a %-d %b %Y").to_string();
    let mut lines = vec![format!("🗓️ **Plan for {} – {}** ({})", day(plan.from), day(plan.to), tz.name())];
    if plan.entries.is_empty() {
        lines.push("Nothing is planned in this period.".into());
    }
    for e in &plan.entries {
        let conflict = match e.conflicts.as_slice() {
            [] => String::new(),
            ids => format!(" · ⚠️ conflicts with {}", ids.iter().map(|i| format!("release {i}")).collect::<Vec<_>>().join(", ")),
        };
        lines.push(format!(
            "• <t:{}:f> **Release {} · {}** ({}) — {}{conflict}",
            e.from.timestamp(),
            e.id,
            inert(&e.name),
            inert(&e.process),
            crate::picture::planned_words(e.status)
        ));
    }
    for (name, from, to) in &plan.freezes {
        lines.push(format!("🧊 Freeze “{}”: {} – {}", inert(name), local(*from, tz), local(*to, tz)));
    }
    truncate(&lines.join("\n"), CONTENT_LIMIT)
}
