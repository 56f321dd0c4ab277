//! Risk assessment: each release gets a level (low, medium, high) from the rules its process
//! declares, like "production environment", "more than three services", "a hotfix", "outside
//! business hours". The highest level a rule gives wins; no rule, low. Approvals
//! (`auto_approve_if`) and conditions read it as `release.risk`.

use super::template;
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    #[default]
    Low,
    Medium,
    High,
}

impl RiskLevel {
    pub const NAMES: [&'static str; 3] = ["low", "medium", "high"];

    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "low" => Some(RiskLevel::Low),
            "medium" => Some(RiskLevel::Medium),
            "high" => Some(RiskLevel::High),
            _ => None,
        }
    }
}

impl fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `when` holds → at least `level`, because `because`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskRule {
    pub when: String,
    pub level: RiskLevel,
    pub because: String,
}

/// A release's assessed risk and the reasons for it (the rules that held).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Risk {
    pub level: RiskLevel,
    pub reasons: Vec<String>,
}

/// The names risk rules may read beside inputs, variables and the release: the local time at
/// start, in the process's time zone (`clock.hour` 0–23, `clock.weekday` `mon`…`sun`).
pub const CLOCK_NAMES: [&str; 3] = ["clock.hour", "clock.minute", "clock.weekday"];

/// `context` plus `clock`, the time `now` in `tz`.
pub fn with_clock(mut context: serde_json::Value, now: DateTime<Utc>, tz: chrono_tz::Tz) -> serde_json::Value {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let local = now.with_timezone(&tz);
    context["clock"] = serde_json::json!({
        "hour": local.hour(),
        "minute": local.minute(),
        "weekday": DAYS[local.weekday().num_days_from_monday() as usize],
    });
    context
}

/// Assesses `rules` over `context`. A rule that cannot be evaluated counts as holding: when in
/// doubt a release is riskier, never safer, and the reason says why.
pub fn assess(rules: &[RiskRule], context: &serde_json::Value) -> Risk {
    let mut risk = Risk::default();
    for rule in rules {
        let (holds, reason) = match template::evaluate(&rule.when, context) {
            Ok(holds) => (holds, rule.because.clone()),
            Err(e) => (true, format!("{} (its rule could not be evaluated: {e})", rule.because)),
        };
        if holds {
            risk.level = risk.level.max(rule.level);
            risk.reasons.push(format!("{}: {reason}", rule.level));
        }
    }
    risk
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn rule(when: &str, level: RiskLevel, because: &str) -> RiskRule {
        RiskRule { when: when.into(), level, because: because.into() }
    }

    #[test]
    fn the_highest_level_of_the_rules_that_hold_wins_and_each_says_why() {
        let rules = [
            rule("inputs.environment == 'production'", RiskLevel::High, "production environment"),
            rule("inputs.services | length > 3", RiskLevel::Medium, "more than three services"),
            rule("release.kind == 'hotfix'", RiskLevel::Medium, "a hotfix"),
        ];
        let ctx = json!({"inputs": {"environment": "production", "services": ["a", "b", "c", "d"]}, "release": {"kind": "standard"}});
        let risk = assess(&rules, &ctx);
        assert_eq!(risk.level, RiskLevel::High);
        assert_eq!(risk.reasons, vec!["high: production environment", "medium: more than three services"]);
        let calm = json!({"inputs": {"environment": "staging", "services": ["a"]}, "release": {"kind": "standard"}});
        assert_eq!(assess(&rules, &calm), Risk::default());
    }

    #[test]
    fn a_rule_that_cannot_be_evaluated_counts_as_holding() {
        let risk = assess(&[rule("inputs.missing > 3", RiskLevel::High, "big change")], &json!({"inputs": {}}));
        assert_eq!(risk.level, RiskLevel::High);
        assert!(risk.reasons[0].contains("could not be evaluated"), "{:?}", risk.reasons);
    }

    #[test]
    fn business_hours_are_read_in_the_process_time_zone() {
        let rules =
            [rule("clock.hour < 9 or clock.hour >= 17 or clock.weekday in ['sat', 'sun']", RiskLevel::High, "outside business hours")];
        // 16:30 UTC on a Monday is 17:30 in Berlin: after hours there, not in London.
        let monday = Utc.with_ymd_and_hms(2026, 11, 23, 16, 30, 0).single().unwrap_or_default();
        assert_eq!(assess(&rules, &with_clock(json!({}), monday, chrono_tz::Europe::Berlin)).level, RiskLevel::High);
        assert_eq!(assess(&rules, &with_clock(json!({}), monday, chrono_tz::Europe::London)).level, RiskLevel::Low);
        let saturday = Utc.with_ymd_and_hms(2026, 11, 28, 11, 0, 0).single().unwrap_or_default();
        assert_eq!(assess(&rules, &with_clock(json!({}), saturday, chrono_tz::Europe::London)).level, RiskLevel::High);
    }
}
