//! Principals as Discord mentions, the emoji that go with states, and list wording. The words
//! for states are the domain's one mapping (`ReleaseStatus::in_words`, `StepStatus::in_words`).
//! Nothing a person reads says `NotStarted`, `OnHold` or `role:QA`.

use crate::domain::principal::{Principal, RoleRef};
use crate::domain::release::{ReleaseStatus, StepStatus};
use std::collections::HashMap;

/// The emoji that leads a release's headline.
pub fn release_emoji(status: ReleaseStatus) -> &'static str {
    match status {
        ReleaseStatus::Draft => "📝",
        ReleaseStatus::NotStarted => "🗓️",
        ReleaseStatus::Running => "🔵",
        ReleaseStatus::OnHold => "⏸️",
        ReleaseStatus::Success => "✅",
        ReleaseStatus::PartialSuccess => "⚠️",
        ReleaseStatus::Failed => "❌",
        ReleaseStatus::Aborted => "⛔",
    }
}

pub fn step_emoji(status: StepStatus) -> &'static str {
    match status {
        StepStatus::NotStarted => "⚪",
        StepStatus::Waiting | StepStatus::OnHold => "⏳",
        StepStatus::Running => "🔵",
        StepStatus::Success => "✅",
        StepStatus::Failed => "❌",
        StepStatus::Skipped => "⏭️",
        StepStatus::Ignored => "⚠️",
        StepStatus::Aborted => "⛔",
    }
}

/// The guild's roles by name, to show the principals a process names (`role:QA`) as mentions
/// (`<@&id>`): Discord renders them as the role's name and pings nobody unless a message's
/// allowed_mentions lists them. Built from the gateway's cache; empty when it lacks the guild,
/// and then roles named by name read as `@QA`.
#[derive(Debug, Clone, Default)]
pub struct Names {
    roles_by_name: HashMap<String, u64>,
    role_names: HashMap<u64, String>,
}

impl Names {
    pub fn new(roles: impl IntoIterator<Item = (u64, String)>) -> Self {
        let mut names = Self::default();
        for (id, name) in roles {
            names.roles_by_name.insert(name.to_lowercase(), id);
            names.role_names.insert(id, name);
        }
        names
    }

    /// The role's id, when the guild has it.
    pub fn role_id(&self, role: &RoleRef) -> Option<u64> {
        match role {
            RoleRef::Id(id) => Some(*id),
            RoleRef::Name(name) => self.roles_by_name.get(&name.to_lowercase()).copied(),
        }
    }

    /// A principal as a mention: `<@id>`, `<@&id>`, or `@QA` for a role the guild lacks.
    pub fn mention(&self, principal: &Principal) -> String {
        match principal {
            Principal::User(user) => format!("<@{}>", user.0),
            Principal::Role(role) => match self.role_id(role) {
                Some(id) => format!("<@&{id}>"),
                None => format!("@{}", super::inert(&self.plain(principal))),
            },
        }
    }

    /// A principal as written in the process, as a mention; text that is no principal as it is.
    pub fn mention_str(&self, written: &str) -> String {
        written.parse::<Principal>().map(|p| self.mention(&p)).unwrap_or_else(|_| super::inert(written))
    }

    /// A principal where Discord shows no mentions (embed titles, button labels): `@QA`, or
    /// `a named person` for a user.
    pub fn plain(&self, principal: &Principal) -> String {
        match principal {
            Principal::User(_) => "a named person".into(),
            Principal::Role(RoleRef::Name(name)) => name.clone(),
            Principal::Role(RoleRef::Id(id)) => self.role_names.get(id).cloned().unwrap_or_else(|| "a role".into()),
        }
    }

    /// Mentions joined as people list them: `a`, `a and b`, `a, b and c`; each named once.
    pub fn list<'a>(&self, principals: impl IntoIterator<Item = &'a Principal>) -> String {
        self.joined(principals, and_list)
    }

    /// Mentions of whoever may act, any one of them: `a`, `a or b`, `a, b or c`; each named once.
    pub fn any_of<'a>(&self, principals: impl IntoIterator<Item = &'a Principal>) -> String {
        self.joined(principals, or_list)
    }

    /// `any_of` for principals as a notice carries them (written as in the process).
    pub fn any_of_written(&self, written: &[String]) -> String {
        or_list(&once_each(written.iter().map(|w| self.mention_str(w))))
    }

    fn joined<'a>(&self, principals: impl IntoIterator<Item = &'a Principal>, join: fn(&[String]) -> String) -> String {
        join(&once_each(principals.into_iter().map(|p| self.mention(p))))
    }
}

/// Each mention once, in the order first named.
fn once_each(mentions: impl Iterator<Item = String>) -> Vec<String> {
    let mut shown: Vec<String> = vec![];
    for m in mentions {
        if !shown.contains(&m) {
            shown.push(m);
        }
    }
    shown
}

/// What an approval level needs, in words: "2 approvals, at least 1 from @QA and 1 from @Security".
pub fn needs(min: u32, require: &[crate::domain::process::GroupMin], names: &Names) -> String {
    let mut text = format!("{min} approval{}", if min == 1 { "" } else { "s" });
    if !require.is_empty() {
        let groups: Vec<String> = require.iter().map(|g| format!("{} from {}", g.min, names.mention(&g.from))).collect();
        text.push_str(&format!(", at least {}", and_list(&groups)));
    }
    text
}

/// `a`, `a and b`, `a, b and c`.
pub fn and_list(items: &[String]) -> String {
    joined(items, "and")
}

/// `a`, `a or b`, `a, b or c`.
pub fn or_list(items: &[String]) -> String {
    joined(items, "or")
}

fn joined(items: &[String], word: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {word} {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_plain_words_without_internal_names() {
        use ReleaseStatus::*;
        let words: Vec<&str> =
            [Draft, NotStarted, Running, OnHold, Success, PartialSuccess, Failed, Aborted].map(ReleaseStatus::in_words).into();
        assert_eq!(words, ["Draft", "Not started", "Running", "On hold", "Shipped", "Partly shipped", "Failed", "Aborted"]);
        assert_eq!(StepStatus::OnHold.in_words(), "waiting", "an activity waiting for people is waiting, not on hold");
    }

    #[test]
    fn principals_read_as_mentions_each_named_once() {
        let names = Names::new([(42, "QA".to_string())]);
        let p = |s: &str| s.parse::<Principal>().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names.mention(&p("role:qa")), "<@&42>");
        assert_eq!(names.mention(&p("role:7")), "<@&7>");
        assert_eq!(names.mention(&p("user:9")), "<@9>");
        assert_eq!(names.mention(&p("role:Security")), "@Security", "a role the guild lacks is named, not config syntax");
        assert_eq!(names.list(&[p("role:QA"), p("role:42"), p("user:9")]), "<@&42> and <@9>");
        assert_eq!(names.any_of(&[p("role:QA"), p("user:9")]), "<@&42> or <@9>");
        assert_eq!(names.plain(&p("role:42")), "QA");
    }
}
