//! Who a process file names: `role:<id or name>` or `user:<id>`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A Discord user id (a snowflake), kept Discord-free in the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserId(pub u64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoleRef {
    Id(u64),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Principal {
    Role(RoleRef),
    User(UserId),
}

/// Who created or started a release: a person in chat, or a CI system through a signed trigger
/// (which has no Discord user; the trigger's request id is in the audit trail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Initiator {
    Person(UserId),
    Ci,
    /// A release group: the process's cadence created (and started) it.
    Group,
}

impl Initiator {
    /// The person, when it was one.
    pub fn person(self) -> Option<UserId> {
        match self {
            Initiator::Person(user) => Some(user),
            Initiator::Ci | Initiator::Group => None,
        }
    }
}

impl From<UserId> for Initiator {
    fn from(user: UserId) -> Self {
        Initiator::Person(user)
    }
}

/// What the domain needs to know about a person acting in chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: UserId,
    pub display_name: String,
    /// The roles the person holds in the guild, with their names.
    pub roles: Vec<(u64, String)>,
}

impl Actor {
    /// Whether this person is `initiator`.
    pub fn is(&self, initiator: Initiator) -> bool {
        initiator == Initiator::Person(self.user)
    }
}

impl Principal {
    /// How a person reads this principal in chat: a mention (`<@&id>`, `<@id>`), or `@Name` for
    /// a role given by name (the domain has no server's roles to look its id up in).
    pub fn shown(&self) -> String {
        match self {
            Principal::User(id) => format!("<@{id}>"),
            Principal::Role(RoleRef::Id(id)) => format!("<@&{id}>"),
            Principal::Role(RoleRef::Name(name)) => format!("@{name}"),
        }
    }

    /// Whether `actor` is this principal (holds the role, or is the user).
    pub fn matches(&self, actor: &Actor) -> bool {
        match self {
            Principal::User(id) => *id == actor.user,
            Principal::Role(RoleRef::Id(id)) => actor.roles.iter().any(|(r, _)| r == id),
            Principal::Role(RoleRef::Name(name)) => actor.roles.iter().any(|(_, n)| n.eq_ignore_ascii_case(name)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid principal: write `role:<role id or name>` or `user:<user id>`, like `role:QA` or `user:112233445566778899`")]
pub struct PrincipalError(String);

impl std::str::FromStr for Principal {
    type Err = PrincipalError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || PrincipalError(s.to_string());
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        let rest = rest.trim();
        if rest.is_empty() {
            return Err(bad());
        }
        match kind.trim() {
            "user" => rest.parse().map(|id| Principal::User(UserId(id))).map_err(|_| bad()),
            "role" => Ok(Principal::Role(match rest.parse::<u64>() {
                Ok(id) => RoleRef::Id(id),
                Err(_) => RoleRef::Name(rest.to_string()),
            })),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::User(id) => write!(f, "user:{id}"),
            Principal::Role(RoleRef::Id(id)) => write!(f, "role:{id}"),
            Principal::Role(RoleRef::Name(name)) => write!(f, "role:{name}"),
        }
    }
}

impl From<Principal> for String {
    fn from(p: Principal) -> Self {
        p.to_string()
    }
}

impl TryFrom<String> for Principal {
    type Error = PrincipalError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(user: u64, roles: &[(u64, &str)]) -> Actor {
        Actor { user: UserId(user), display_name: format!("user{user}"), roles: roles.iter().map(|(id, n)| (*id, n.to_string())).collect() }
    }

    #[test]
    fn roles_match_by_id_or_by_name_ignoring_case() {
        let qa = actor(1, &[(77, "QA")]);
        assert!("role:77".parse::<Principal>().is_ok_and(|p| p.matches(&qa)));
        assert!("role:qa".parse::<Principal>().is_ok_and(|p| p.matches(&qa)));
        assert!("role:Security".parse::<Principal>().is_ok_and(|p| !p.matches(&qa)));
    }

    #[test]
    fn users_match_by_id_only() {
        let p: Result<Principal, _> = "user:42".parse();
        assert!(p.as_ref().is_ok_and(|p| p.matches(&actor(42, &[]))));
        assert!(p.is_ok_and(|p| !p.matches(&actor(43, &[]))));
    }

    #[test]
    fn rejects_other_forms() {
        for bad in ["QA", "team:QA", "user:bob", "role:", "user:"] {
            assert!(bad.parse::<Principal>().is_err(), "{bad}");
        }
    }
}
