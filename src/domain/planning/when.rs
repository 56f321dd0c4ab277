//! Reading a planned start typed in chat: `2026-12-10 14:00` (in the process's time zone), RFC 3339,
//! or a weekday and a time (`thu 14:00`, the next one). Every refusal says what would be accepted.

use crate::domain::process::WeeklyTime;
use chrono::{DateTime, TimeZone, Utc};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhenError {
    #[error("`{text}` is not a time I can read: write `2026-12-10 14:00` (in {tz}), `thu 14:00` (the next Thursday), or RFC 3339 like `2026-12-10T13:00:00Z`")]
    Unreadable { text: String, tz: String },
    #[error("{local} does not exist in {tz}: the clocks jump forward over it; {after} is the first time after the gap")]
    InGap { local: String, tz: String, after: String },
    #[error("{when} is in the past (it is {now} now); pick a later time")]
    Past { when: String, now: String },
}

/// The instant `text` names, in `tz`, which must be after `now`.
pub fn parse_when(text: &str, tz: chrono_tz::Tz, now: DateTime<Utc>) -> Result<DateTime<Utc>, WhenError> {
    let text = text.trim();
    let at = if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        t.with_timezone(&Utc)
    } else if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M") {
        match tz.from_local_datetime(&naive) {
            chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
            // Clocks going back repeat an hour: the first of the two is meant.
            chrono::LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            chrono::LocalResult::None => {
                let after = (1..=180)
                    .map(|m| naive + chrono::Duration::minutes(m))
                    .find_map(|n| tz.from_local_datetime(&n).earliest())
                    .map(|t| super::local(t.with_timezone(&Utc), tz))
                    .unwrap_or_else(|| "a later time".into());
                return Err(WhenError::InGap { local: naive.format("%Y-%m-%d %H:%M").to_string(), tz: tz.name().into(), after });
            }
        }
    } else if let Ok(weekly) = text.parse::<WeeklyTime>() {
        crate::domain::release::next_weekly(weekly, tz, now + chrono::Duration::minutes(1))
    } else {
        return Err(WhenError::Unreadable { text: text.into(), tz: tz.name().into() });
    };
    if at <= now {
        return Err(WhenError::Past { when: super::local(at, tz), now: super::local(now, tz) });
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    const BERLIN: chrono_tz::Tz = chrono_tz::Europe::Berlin;

    #[test]
    fn a_local_time_is_read_in_the_process_time_zone() {
        let now = utc("2026-12-07T09:00:00Z");
        assert_eq!(parse_when("2026-12-10 14:00", BERLIN, now), Ok(utc("2026-12-10T13:00:00Z")));
        assert_eq!(parse_when("2026-12-10T14:00:00Z", BERLIN, now), Ok(utc("2026-12-10T14:00:00Z")));
    }

    #[test]
    fn a_weekday_and_time_is_the_next_one() {
        // Monday 7 December 2026: the next Thursday 14:00 Berlin is the 10th, 13:00 UTC.
        let now = utc("2026-12-07T09:00:00Z");
        assert_eq!(parse_when("thu 14:00", BERLIN, now), Ok(utc("2026-12-10T13:00:00Z")));
    }

    #[test]
    fn a_time_in_the_past_is_refused_naming_now() {
        let now = utc("2026-12-07T09:00:00Z");
        let err = parse_when("2026-12-01 14:00", BERLIN, now).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("in the past") && err.contains("Mon 7 Dec 2026 10:00 CET"), "{err}");
    }

    #[test]
    fn a_time_in_the_daylight_saving_gap_is_refused_naming_the_first_time_after_it() {
        let now = utc("2026-03-01T09:00:00Z");
        let err = parse_when("2026-03-29 02:30", BERLIN, now).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("does not exist in Europe/Berlin") && err.contains("Sun 29 Mar 2026 03:00 CEST"), "{err}");
    }

    #[test]
    fn unreadable_text_says_what_to_write() {
        let err = parse_when("next thursday-ish", BERLIN, utc("2026-12-07T09:00:00Z")).err().map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("`2026-12-10 14:00`"));
    }
}
