//! Human durations as written in process files: `90s`, `30m`, `24h`, `2d`, `1h30m`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// A duration parsed from `<number><unit>` groups (units `s`, `m`, `h`, `d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct HumanDuration(Duration);

impl HumanDuration {
    pub fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }
    pub fn as_duration(self) -> Duration {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a duration: {reason}; write a number and a unit, like `30s`, `10m`, `2h`, `1d` or `1h30m`")]
pub struct DurationError {
    input: String,
    reason: &'static str,
}

impl std::str::FromStr for HumanDuration {
    type Err = DurationError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |reason| DurationError { input: input.to_string(), reason };
        let text = input.trim();
        if text.is_empty() {
            return Err(fail("it is empty"));
        }
        let mut total: u64 = 0;
        let mut digits = String::new();
        for ch in text.chars() {
            if ch.is_ascii_digit() {
                digits.push(ch);
                continue;
            }
            let unit = match ch {
                's' => 1,
                'm' => 60,
                'h' => 3_600,
                'd' => 86_400,
                _ => return Err(fail("it has an unknown unit")),
            };
            if digits.is_empty() {
                return Err(fail("a unit has no number before it"));
            }
            let n: u64 = digits.parse().map_err(|_| fail("the number is too large"))?;
            total = n.checked_mul(unit).and_then(|s| total.checked_add(s)).ok_or_else(|| fail("the number is too large"))?;
            digits.clear();
        }
        if !digits.is_empty() {
            return Err(fail("the last number has no unit"));
        }
        Ok(Self(Duration::from_secs(total)))
    }
}

/// A span as people read it: `45 s`, `3 min 20 s`, `42 min`, `2 h 5 min`, `3 d 4 h`.
pub fn words(d: chrono::TimeDelta) -> String {
    let secs = d.num_seconds().max(0);
    let (days, h, m, s) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60, secs % 60);
    match (days, h, m) {
        (1.., _, _) => format!("{days} d {h} h"),
        (0, 0, 0) => format!("{s} s"),
        // Past ten minutes the seconds are noise.
        (0, 0, 10..) => format!("{m} min"),
        (0, 0, _) => format!("{m} min {s} s"),
        _ => format!("{h} h {m} min"),
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut secs = self.0.as_secs();
        if secs == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
            if secs >= size {
                write!(f, "{}{}", secs / size, unit)?;
                secs %= size;
            }
        }
        Ok(())
    }
}

impl From<HumanDuration> for String {
    fn from(d: HumanDuration) -> Self {
        d.to_string()
    }
}

impl TryFrom<String> for HumanDuration {
    type Error = DurationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_and_compound_units() {
        assert_eq!("90s".parse::<HumanDuration>().map(|d| d.0.as_secs()), Ok(90));
        assert_eq!("1h30m".parse::<HumanDuration>().map(|d| d.0.as_secs()), Ok(5_400));
        assert_eq!("2d".parse::<HumanDuration>().map(|d| d.0.as_secs()), Ok(172_800));
    }

    #[test]
    fn rejects_missing_units_unknown_units_and_overflow() {
        for bad in ["", "10", "m", "5w", "99999999999999999999s", "1.5h"] {
            assert!(bad.parse::<HumanDuration>().is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn displays_in_the_form_it_parses() {
        let d: HumanDuration = "1h30m".parse().unwrap_or(HumanDuration::from_secs(0));
        assert_eq!(d.to_string(), "1h30m");
    }
}
