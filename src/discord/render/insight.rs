//! Insight as text: the inventory table, where a version is, and the DORA figures beside their chart.

use super::{inert, truncate, CONTENT_LIMIT};
use crate::domain::insight::dora::Dora;
use crate::domain::insight::{Delivery, Deployed, Outcome};
use crate::store::DeliveryFilter;

/// `api · prod · 1.4.2 · since <t:…:R> · release 12`, one line per service and environment.
pub fn deployed_table(now: &[Deployed], service: Option<&str>, environment: Option<&str>) -> String {
    if now.is_empty() {
        let what = match (service, environment) {
            (Some(s), Some(e)) => format!("`{}` in `{}`", inert(s), inert(e)),
            (Some(s), None) => format!("`{}`", inert(s)),
            (None, Some(e)) => format!("`{}`", inert(e)),
            (None, None) => "this server".into(),
        };
        return format!("Nothing delivered yet for {what}. Releases record what they deliver when they ship (inputs marked `identifies: service|version|environment`).");
    }
    let mut lines = vec!["**What is where**".to_string()];
    for d in now {
        let rolled = if d.rolled_back { " (rolled back)" } else { "" };
        lines.push(format!(
            "`{}` · `{}` · **{}**{rolled} · since <t:{}:R> · release {}",
            inert(&d.service),
            inert(&d.environment),
            inert(&d.version),
            d.since.timestamp(),
            d.release
        ));
    }
    truncate(&lines.join("\n"), CONTENT_LIMIT)
}

/// Whether and where `version` of `service` runs, and where it ran before.
pub fn where_version(service: &str, version: &str, now: &[Deployed], history: &[Delivery]) -> String {
    let mut lines = vec![];
    for d in now.iter().filter(|d| d.service == service && d.version == version) {
        lines.push(format!(
            "✅ `{}` **{}** runs in `{}` since <t:{}:R> (release {}).",
            inert(service),
            inert(version),
            inert(&d.environment),
            d.since.timestamp(),
            d.release
        ));
    }
    let before: Vec<&Delivery> =
        history.iter().filter(|d| d.service == service && d.version == version && d.outcome != Outcome::RolledBack).collect();
    for d in &before {
        if !now.iter().any(|n| n.environment == d.environment && n.version == version) {
            lines.push(format!(
                "↩️ It ran in `{}` from <t:{}:f> (release {}); not any more.",
                inert(&d.environment),
                d.delivered_at.timestamp(),
                d.release
            ));
        }
    }
    if lines.is_empty() {
        return format!("`{}` **{}** has not been delivered anywhere.", inert(service), inert(version));
    }
    truncate(&lines.join("\n"), CONTENT_LIMIT)
}

fn hours(d: Option<chrono::Duration>) -> String {
    d.map(crate::domain::duration::words).unwrap_or_else(|| "no data".into())
}

/// The four figures in words, with what they count.
pub fn dora_text(d: &Dora, filter: &DeliveryFilter) -> String {
    let scope: Vec<String> = [
        filter.process.as_ref().map(|p| format!("process `{}`", inert(p))),
        filter.environment.as_ref().map(|e| format!("environment `{}`", inert(e))),
    ]
    .into_iter()
    .flatten()
    .collect();
    let scope = if scope.is_empty() { "every process and environment".to_string() } else { scope.join(", ") };
    let rate = d
        .failure_rate
        .map(|r| format!("{:.0}% ({} of {} changes)", r * 100.0, d.failed_changes, d.changes))
        .unwrap_or_else(|| "no changes".into());
    let lines = [
        format!("📊 **DORA metrics**, <t:{}:D> – <t:{}:D>, {scope}", d.from.timestamp(), d.to.timestamp()),
        format!("• Deployment frequency: **{:.2} a day** ({} deployments)", d.per_day, d.deployments),
        format!("• Lead time for changes (median): **{}**", hours(d.lead_time)),
        format!("• Change failure rate: **{rate}**"),
        format!("• Time to restore (median): **{}**", hours(d.time_to_restore)),
        "A deployment is a release that reached its environment; lead time runs from its earliest change (`collects: changes`; else its creation) to its end; a failed change was rolled back, failed after a deploy step, or was followed within 7 days by a hotfix to the same service and environment; time to restore runs to the next shipped deployment there.".into(),
    ];
    truncate(&lines.join("\n"), CONTENT_LIMIT)
}

/// The report's few lines: how long, where the time went, retries, approvals, holds, overrides.
pub fn report_summary(r: &crate::domain::insight::report::Report) -> String {
    let d = |s: i64| crate::domain::duration::words(chrono::Duration::seconds(s));
    let mut lines = vec![
        format!("📋 **Report: Release {} · {}** — {}", r.release, inert(&r.name), r.status.to_lowercase()),
        format!(
            "Took {} · waiting for people {} · machines {} · on hold {}",
            d(r.total_secs),
            d(r.people_secs),
            d(r.machine_secs),
            d(r.held_secs)
        ),
    ];
    let slowest = r.phases.iter().max_by_key(|p| p.secs);
    if let Some(p) = slowest {
        lines.push(format!("Longest phase: `{}` ({})", p.id, d(p.secs)));
    }
    let retried: Vec<String> = r
        .activities
        .iter()
        .filter(|a| a.tries > 1)
        .map(|a| format!("`{}` {} tries ({})", a.id, a.tries, inert(&a.retries.join("; "))))
        .collect();
    if !retried.is_empty() {
        lines.push(format!("Retries: {}", retried.join(", ")));
    }
    let approvals: Vec<String> = r
        .approvals
        .iter()
        .map(|a| format!("{} {} `{}`", inert(&a.by), if a.approved { "approved" } else { "rejected" }, a.activity))
        .collect();
    if !approvals.is_empty() {
        lines.push(format!("Approvals: {}", approvals.join(", ")));
    }
    lines.extend(r.holds.iter().map(|h| format!("Held by {}: {}", inert(&h.by), inert(&h.reason))));
    lines.extend(r.overrides.iter().map(|o| format!("Override: {}", inert(o))));
    truncate(&lines.join("\n"), CONTENT_LIMIT)
}

/// The weekly digest: the week's deployments and the four figures, each beside the week before's.
pub fn digest_text(this: &Dora, before: &Dora, shipped: &[Delivery]) -> String {
    let trend = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if a > b + 1e-9 => " ↑",
        (Some(a), Some(b)) if a + 1e-9 < b => " ↓",
        (Some(_), Some(_)) => " →",
        _ => "",
    };
    let secs = |d: Option<chrono::Duration>| d.map(|d| d.num_seconds() as f64);
    let pct = |r: Option<f64>| r.map(|r| format!("{:.0}%", r * 100.0)).unwrap_or_else(|| "no changes".into());
    let mut lines = vec![
        format!("📰 **Weekly digest**, <t:{}:D> – <t:{}:D>", this.from.timestamp(), this.to.timestamp()),
        format!(
            "• Deployments: **{}** ({:.2} a day; the week before {}){}",
            this.deployments,
            this.per_day,
            before.deployments,
            trend(Some(this.per_day), Some(before.per_day))
        ),
        format!(
            "• Lead time (median): **{}** (before: {}){}",
            hours(this.lead_time),
            hours(before.lead_time),
            trend(secs(this.lead_time), secs(before.lead_time))
        ),
        format!(
            "• Change failure rate: **{}** (before: {}){}",
            pct(this.failure_rate),
            pct(before.failure_rate),
            trend(this.failure_rate, before.failure_rate)
        ),
        format!(
            "• Time to restore (median): **{}** (before: {}){}",
            hours(this.time_to_restore),
            hours(before.time_to_restore),
            trend(secs(this.time_to_restore), secs(before.time_to_restore))
        ),
    ];
    if shipped.is_empty() {
        lines.push("Nothing reached an environment this week.".into());
    } else {
        lines.push("This week:".into());
        for d in shipped.iter().take(20) {
            let how = match d.outcome {
                Outcome::Delivered => "",
                Outcome::RolledBack => " (rolled back)",
                Outcome::FailedAfterDelivering => " (failed after delivering)",
            };
            lines.push(format!(
                "• release {} · `{}` {} → `{}`{how}",
                d.release,
                inert(&d.service),
                inert(&d.version),
                inert(&d.environment)
            ));
        }
        if shipped.len() > 20 {
            lines.push(format!("• … and {} more: `/deployed`", shipped.len() - 20));
        }
    }
    truncate(&lines.join("\n"), CONTENT_LIMIT)
}
