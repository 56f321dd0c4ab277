//! Every custom id the bot puts on a button or a modal, as one type: written by `Display`, read
//! back by `FromStr`, dispatched by one exhaustive match (`bot::on_event`). All state lives in
//! the database, so a button posted before a restart still works; meaning is never read back out
//! of a message's text.
//!
//! | id | what |
//! | --- | --- |
//! | `tm:approve:<release>:<level>:<activity>` (also `reject`, `done`, `decided`) | a request's buttons; `<level>` is the approval level the message asks for (ids made before levels were kept have none: level 0) |
//! | `tm:reject-why:<release>:<level>:<activity>` | the modal asking a rejection's reason |
//! | `tm:card:<hold\|resume\|abort>:<release>` | the card's buttons |
//! | `tm:why:<hold\|abort>:<release>` | the modal asking why a release is held or aborted |
//! | `tm:inputs:<key>`, `tm:inputs-again:<key>` | the create form, and its "Fill in again" |
//! | `tm:log:<release>:<page>` | `/release log` pages |
//! | `tm:list:<page>:<status or *>:<mine 0/1>:<process>` | `/release list` pages |

use crate::domain::release::{ReleaseId, ReleaseStatus};
use std::fmt;

/// Discord refuses longer custom ids.
pub const MAX_LEN: usize = 100;

/// What a request's button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
    /// A manual task is done.
    Done,
    /// The disabled button of a closed request; never clickable.
    Decided,
}

/// What a card button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Hold,
    Resume,
    Abort,
}

/// A page of `/release list`, with the filters it was asked with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    pub page: u32,
    pub status: Option<ReleaseStatus>,
    pub mine: bool,
    pub process: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomId {
    Request {
        decision: Decision,
        release: ReleaseId,
        level: u32,
        activity: String,
    },
    RejectReason {
        release: ReleaseId,
        level: u32,
        activity: String,
    },
    Card {
        verb: Verb,
        release: ReleaseId,
    },
    CardReason {
        verb: Verb,
        release: ReleaseId,
    },
    InputsForm {
        key: String,
    },
    InputsAgain {
        key: String,
    },
    /// A page of `/release log`; `details` shows each entry's details under it.
    LogPage {
        release: ReleaseId,
        page: usize,
        details: bool,
    },
    ListPage(ListPage),
}

impl CustomId {
    /// The id as Discord stores it, or `None` when it would be longer than Discord allows
    /// (only a long process name in a list filter can do that).
    pub fn encode(&self) -> Option<String> {
        Some(self.to_string()).filter(|id| id.len() <= MAX_LEN)
    }
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
            Decision::Done => "done",
            Decision::Decided => "decided",
        }
    }
}

impl Verb {
    fn as_str(self) -> &'static str {
        match self {
            Verb::Hold => "hold",
            Verb::Resume => "resume",
            Verb::Abort => "abort",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "hold" => Some(Verb::Hold),
            "resume" => Some(Verb::Resume),
            "abort" => Some(Verb::Abort),
            _ => None,
        }
    }
}

impl fmt::Display for CustomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CustomId::Request { decision, release, level, activity } => write!(f, "tm:{}:{release}:{level}:{activity}", decision.as_str()),
            CustomId::RejectReason { release, level, activity } => write!(f, "tm:reject-why:{release}:{level}:{activity}"),
            CustomId::Card { verb, release } => write!(f, "tm:card:{}:{release}", verb.as_str()),
            CustomId::CardReason { verb, release } => write!(f, "tm:why:{}:{release}", verb.as_str()),
            CustomId::InputsForm { key } => write!(f, "tm:inputs:{key}"),
            CustomId::InputsAgain { key } => write!(f, "tm:inputs-again:{key}"),
            CustomId::LogPage { release, page, details: false } => write!(f, "tm:log:{release}:{page}"),
            CustomId::LogPage { release, page, details: true } => write!(f, "tm:log:{release}:{page}:details"),
            CustomId::ListPage(ListPage { page, status, mine, process }) => {
                let status = status.map(|s| s.as_str()).unwrap_or("*");
                write!(f, "tm:list:{page}:{status}:{}:{}", u8::from(*mine), process.as_deref().unwrap_or_default())
            }
        }
    }
}

/// A custom id the bot did not make.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this button or form is not one Trainmaster made")]
pub struct Foreign;

impl std::str::FromStr for CustomId {
    type Err = Foreign;

    fn from_str(id: &str) -> Result<Self, Foreign> {
        parse(id).ok_or(Foreign)
    }
}

fn parse(id: &str) -> Option<CustomId> {
    let rest = id.strip_prefix("tm:")?;
    let (kind, rest) = rest.split_once(':')?;
    let parsed = match kind {
        "approve" | "reject" | "done" | "decided" => {
            let decision = match kind {
                "approve" => Decision::Approve,
                "reject" => Decision::Reject,
                "done" => Decision::Done,
                _ => Decision::Decided,
            };
            let (release, level, activity) = request_parts(rest)?;
            CustomId::Request { decision, release, level, activity }
        }
        "reject-why" => {
            let (release, level, activity) = request_parts(rest)?;
            CustomId::RejectReason { release, level, activity }
        }
        "card" | "why" => {
            let (verb, release) = rest.split_once(':')?;
            let (verb, release) = (Verb::parse(verb)?, release.parse().ok()?);
            if kind == "card" {
                CustomId::Card { verb, release }
            } else {
                CustomId::CardReason { verb, release }
            }
        }
        "inputs" => CustomId::InputsForm { key: rest.to_string() },
        "inputs-again" => CustomId::InputsAgain { key: rest.to_string() },
        "log" => {
            let (release, page) = rest.split_once(':')?;
            let (page, details) = match page.split_once(':') {
                Some((page, "details")) => (page, true),
                Some(_) => return None,
                None => (page, false),
            };
            CustomId::LogPage { release: release.parse().ok()?, page: page.parse().ok()?, details }
        }
        "list" => {
            let mut parts = rest.splitn(4, ':');
            let page = parts.next()?.parse().ok()?;
            let status = match parts.next()? {
                "*" => None,
                s => Some(ReleaseStatus::parse(s)?),
            };
            let mine = parts.next()? == "1";
            let process = Some(parts.next()?.to_string()).filter(|p| !p.is_empty());
            CustomId::ListPage(ListPage { page, status, mine, process })
        }
        _ => return None,
    };
    Some(parsed)
}

/// `<release>:<level>:<activity>`, or `<release>:<activity>` as ids were before levels were
/// kept (activity ids start with a letter, so the two cannot be confused).
fn request_parts(rest: &str) -> Option<(ReleaseId, u32, String)> {
    let (release, rest) = rest.split_once(':')?;
    let release = release.parse().ok()?;
    let (level, activity) = match rest.split_once(':') {
        Some((level, activity)) if level.chars().all(|c| c.is_ascii_digit()) && !level.is_empty() => (level.parse().ok()?, activity),
        _ => (0, rest),
    };
    (!activity.is_empty()).then(|| (release, level, activity.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of every id the bot makes, with the longest values each can hold.
    fn every_id() -> Vec<CustomId> {
        let release = ReleaseId(9_007_199_254_740_991);
        let activity = "a".repeat(40);
        let mut ids = vec![];
        for decision in [Decision::Approve, Decision::Reject, Decision::Done, Decision::Decided] {
            ids.push(CustomId::Request { decision, release, level: 9, activity: activity.clone() });
        }
        ids.push(CustomId::RejectReason { release, level: 3, activity: "qa-approval".into() });
        for verb in [Verb::Hold, Verb::Resume, Verb::Abort] {
            ids.push(CustomId::Card { verb, release });
            ids.push(CustomId::CardReason { verb, release });
        }
        ids.push(CustomId::InputsForm { key: "1311111111111111111".into() });
        ids.push(CustomId::InputsAgain { key: "1311111111111111111".into() });
        ids.push(CustomId::LogPage { release, page: 12, details: false });
        ids.push(CustomId::LogPage { release, page: 12, details: true });
        for status in [None, Some(ReleaseStatus::PartialSuccess)] {
            for mine in [false, true] {
                let process = Some("p".repeat(40));
                ids.push(CustomId::ListPage(ListPage { page: 4_000_000, status, mine, process }));
            }
        }
        ids.push(CustomId::ListPage(ListPage { page: 0, status: None, mine: false, process: None }));
        ids
    }

    #[test]
    fn every_id_the_bot_makes_round_trips_and_fits_discords_limit() {
        for id in every_id() {
            let text = id.encode().unwrap_or_else(|| panic!("{id:?} is longer than {MAX_LEN}"));
            assert_eq!(text.parse::<CustomId>(), Ok(id.clone()), "{text}");
        }
    }

    #[test]
    fn ids_made_before_levels_were_kept_still_work() {
        let old: CustomId = "tm:approve:12:qa-approval".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            old,
            CustomId::Request { decision: Decision::Approve, release: ReleaseId(12), level: 0, activity: "qa-approval".into() }
        );
        let modal: Result<CustomId, _> = "tm:reject-why:12:sign-off".parse();
        assert_eq!(modal, Ok(CustomId::RejectReason { release: ReleaseId(12), level: 0, activity: "sign-off".into() }));
    }

    #[test]
    fn ids_the_bot_did_not_make_are_refused() {
        for bad in ["", "tm:", "tm:approve:x:y", "tm:card:explode:7", "tm:card:hold:x", "tm:log:1", "other:approve:1:a", "tm:approve:1:"] {
            assert_eq!(bad.parse::<CustomId>(), Err(Foreign), "{bad}");
        }
        let long = CustomId::ListPage(ListPage { page: 1, status: None, mine: false, process: Some("p".repeat(90)) });
        assert_eq!(long.encode(), None);
    }
}
