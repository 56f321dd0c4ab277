//! Delegation: an approver hands their authority to someone else for a while, for every process
//! or one. The delegate's decision records both names; a delegation ends on time or when revoked.

use super::principal::{Actor, UserId};
use chrono::{DateTime, Duration, Utc};

/// No delegation lasts longer than this; a standing hand-over should be a role instead.
pub const LONGEST: Duration = Duration::days(90);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    pub id: i64,
    /// Who hands over, with the roles they held when they did: the authority handed over.
    pub from: Actor,
    pub to: UserId,
    pub to_name: String,
    pub until: DateTime<Utc>,
    /// Only releases of this process; every process when `None`.
    pub process: Option<String>,
    pub revoked: bool,
}

/// Whose authority a person may decide with: their own (unless the guild's approvers exclude
/// them) and that of whoever delegated to them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authority {
    pub own: bool,
    pub delegations: Vec<Delegation>,
}

impl Authority {
    /// Their own authority only.
    pub fn own() -> Self {
        Self { own: true, delegations: vec![] }
    }

    /// Their own and that of these delegations.
    pub fn with(delegations: Vec<Delegation>) -> Self {
        Self { own: true, delegations }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DelegationError {
    #[error("you cannot delegate to yourself")]
    ToSelf,
    #[error("the end of a delegation must be in the future; it was {0} UTC")]
    InThePast(String),
    #[error("a delegation lasts at most 90 days; ask for a role instead of a standing delegation")]
    TooLong,
}

impl Delegation {
    /// A new delegation from `from` to `to` until `until`, checked.
    pub fn new(
        from: &Actor,
        to: UserId,
        to_name: &str,
        until: DateTime<Utc>,
        process: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Self, DelegationError> {
        if to == from.user {
            return Err(DelegationError::ToSelf);
        }
        if until <= now {
            return Err(DelegationError::InThePast(until.format("%Y-%m-%d %H:%M").to_string()));
        }
        if until - now > LONGEST {
            return Err(DelegationError::TooLong);
        }
        Ok(Self { id: 0, from: from.clone(), to, to_name: to_name.into(), until, process, revoked: false })
    }

    /// Whether `user` may act under this delegation on a release of `process` at `now`.
    pub fn applies(&self, user: UserId, process: &str, now: DateTime<Utc>) -> bool {
        !self.revoked && self.to == user && now < self.until && self.process.as_deref().is_none_or(|p| p == process)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn alice() -> Actor {
        Actor { user: UserId(1), display_name: "alice".into(), roles: vec![(7, "QA".into())] }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().unwrap_or_default()
    }

    #[test]
    fn a_delegation_to_yourself_into_the_past_or_beyond_ninety_days_is_refused() {
        assert_eq!(Delegation::new(&alice(), UserId(1), "alice", now() + Duration::hours(1), None, now()), Err(DelegationError::ToSelf));
        assert!(matches!(Delegation::new(&alice(), UserId(2), "bob", now(), None, now()), Err(DelegationError::InThePast(_))));
        assert_eq!(Delegation::new(&alice(), UserId(2), "bob", now() + Duration::days(91), None, now()), Err(DelegationError::TooLong));
    }

    #[test]
    fn a_delegation_applies_to_its_delegate_until_it_ends_and_only_to_its_process() {
        let d = Delegation::new(&alice(), UserId(2), "bob", now() + Duration::hours(8), Some("weekly".into()), now());
        let Ok(mut d) = d else { panic!("valid delegation refused: {d:?}") };
        assert!(d.applies(UserId(2), "weekly", now()));
        assert!(!d.applies(UserId(3), "weekly", now()), "someone else");
        assert!(!d.applies(UserId(2), "hotfix", now()), "another process");
        assert!(!d.applies(UserId(2), "weekly", now() + Duration::hours(8)), "ended");
        d.revoked = true;
        assert!(!d.applies(UserId(2), "weekly", now()), "revoked");
    }
}
