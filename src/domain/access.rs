//! Who may do what, per guild (a guild is an organisation). Personas:
//! - **account admins** (`admins` in trainmaster.toml): configure, see and do everything, in
//!   every guild;
//! - **release managers** (`[guilds.<id>] release_managers`, and a process's
//!   `owners.release_manager`): create, edit, start and control releases;
//! - **approvers** (`[guilds.<id>] approvers`): may decide approvals where a process names them;
//! - **viewers** (`[guilds.<id>] viewers`): read releases, lists and trails.
//!
//! A guild without a `[guilds.<id>]` table is open, as before roles existed: anyone in it may
//! view and create; control stays with the process's release manager and the release's creator;
//! deciding with whom the approval names. An empty list in a configured guild also means "no
//! restriction" for that persona: `viewers = []` lets everyone in the guild read.

use super::ids::GuildId;
use super::principal::{Actor, Principal};
use super::process::Process;
use super::release::Release;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuildRoles {
    pub release_managers: Vec<Principal>,
    pub approvers: Vec<Principal>,
    pub viewers: Vec<Principal>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    pub admins: Vec<Principal>,
    pub guilds: BTreeMap<GuildId, GuildRoles>,
}

/// A refusal that says who may: "starting a release is for role:Release Managers or the
/// release's creator". The chat adapter words the principals as mentions; this Display is for
/// logs and the HTTP API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} is for {}", or_list(&self.who.iter().map(ToString::to_string).collect::<Vec<_>>()))]
pub struct Denied {
    pub what: &'static str,
    /// Who may, each once, in the order they are named.
    pub who: Vec<Who>,
}

/// One of those who may do what was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// A principal from the guild's configuration.
    Principal(Principal),
    /// The process's release manager (`owners.release_manager`).
    ProcessReleaseManager(Principal),
    /// The person who created the release.
    Creator,
}

impl std::fmt::Display for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Who::Principal(p) => write!(f, "{p}"),
            Who::ProcessReleaseManager(p) => write!(f, "{p} (this process's release manager)"),
            Who::Creator => write!(f, "the release's creator"),
        }
    }
}

fn or_list(who: &[String]) -> String {
    match who {
        [] => "no one".into(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// What someone wants to do to a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Edit,
    Delete,
    Start,
    /// Hold, resume, abort, retry, skip.
    Operate,
}

impl Control {
    fn what(self) -> &'static str {
        match self {
            Control::Edit => "editing a release",
            Control::Delete => "deleting a release",
            Control::Start => "starting a release",
            Control::Operate => "holding, resuming, aborting, retrying or skipping",
        }
    }
}

fn any(list: &[Principal], actor: &Actor) -> bool {
    list.iter().any(|p| p.matches(actor))
}

fn named(list: &[Principal]) -> Vec<Who> {
    let mut who: Vec<Who> = vec![];
    for p in list {
        if !who.contains(&Who::Principal(p.clone())) {
            who.push(Who::Principal(p.clone()));
        }
    }
    who
}

/// The guild's release managers and the process's, each named once: a process release manager
/// who is also one of the guild's is named with the process's words.
fn managers(guild: &[Principal], owner: Option<&Principal>) -> Vec<Who> {
    let mut who = named(guild);
    if let Some(owner) = owner {
        who.retain(|w| *w != Who::Principal(owner.clone()));
        who.push(Who::ProcessReleaseManager(owner.clone()));
    }
    who
}

impl AccessPolicy {
    pub fn is_admin(&self, actor: &Actor) -> bool {
        any(&self.admins, actor)
    }

    /// Reading releases of `guild`: lists, status, trails.
    pub fn may_view(&self, guild: GuildId, actor: &Actor) -> Result<(), Denied> {
        let Some(roles) = self.guilds.get(&guild).filter(|r| !r.viewers.is_empty()) else { return Ok(()) };
        let readers = [&roles.viewers, &roles.release_managers, &roles.approvers];
        if self.is_admin(actor) || readers.iter().any(|list| any(list, actor)) {
            return Ok(());
        }
        let all: Vec<Principal> = readers.iter().flat_map(|l| l.iter().cloned()).collect();
        Err(Denied { what: "reading releases here", who: named(&all) })
    }

    /// Planning for the whole server (freezes, release groups): its release managers and the
    /// admins; open, like creating, while the server names no release managers and there are no admins.
    pub fn may_plan(&self, guild: GuildId, actor: &Actor, what: &'static str) -> Result<(), Denied> {
        let managers = self.guilds.get(&guild).map(|r| r.release_managers.as_slice()).unwrap_or_default();
        if (managers.is_empty() && self.admins.is_empty()) || self.is_admin(actor) || any(managers, actor) {
            return Ok(());
        }
        let all: Vec<Principal> = managers.iter().chain(self.admins.iter()).cloned().collect();
        Err(Denied { what, who: named(&all) })
    }

    /// Creating a release of `process` in `guild`.
    pub fn may_create(&self, guild: GuildId, actor: &Actor, process: &Process) -> Result<(), Denied> {
        let Some(roles) = self.guilds.get(&guild).filter(|r| !r.release_managers.is_empty()) else { return Ok(()) };
        let owner = process.release_manager.as_ref();
        if self.is_admin(actor) || any(&roles.release_managers, actor) || owner.is_some_and(|m| m.matches(actor)) {
            return Ok(());
        }
        Err(Denied { what: "creating a release", who: managers(&roles.release_managers, owner) })
    }

    /// Editing, deleting, starting or operating `release`: the guild's release managers, the
    /// process's release manager, the release's creator, or an admin.
    pub fn may_control(&self, actor: &Actor, release: &Release, control: Control) -> Result<(), Denied> {
        let owner = release.process.release_manager.as_ref();
        let managers = self.guilds.get(&release.guild_id).map(|r| r.release_managers.as_slice()).unwrap_or_default();
        if self.is_admin(actor) || actor.is(release.created_by) || any(managers, actor) || owner.is_some_and(|m| m.matches(actor)) {
            return Ok(());
        }
        let mut who = self::managers(managers, owner);
        who.push(Who::Creator);
        Err(Denied { what: control.what(), who })
    }

    /// Deciding approvals in `guild` at all (the process still has to name the person): when the
    /// guild lists approvers, a process cannot make anyone else one.
    pub fn may_decide(&self, guild: GuildId, actor: &Actor) -> Result<(), Denied> {
        let Some(roles) = self.guilds.get(&guild).filter(|r| !r.approvers.is_empty()) else { return Ok(()) };
        if self.is_admin(actor) || any(&roles.approvers, actor) {
            return Ok(());
        }
        Err(Denied { what: "deciding approvals here", who: named(&roles.approvers) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::inputs::Inputs;
    use crate::domain::release::ReleaseId;
    use crate::domain::UserId;

    const GUILD: GuildId = GuildId(5);

    fn person(id: u64, roles: &[&str]) -> Actor {
        Actor { user: UserId(id), display_name: format!("user{id}"), roles: roles.iter().map(|r| (id * 10, r.to_string())).collect() }
    }

    fn p(s: &str) -> Principal {
        s.parse().unwrap_or(Principal::User(UserId(0)))
    }

    fn policy() -> AccessPolicy {
        let roles = GuildRoles {
            release_managers: vec![p("role:Release Managers")],
            approvers: vec![p("role:QA")],
            viewers: vec![p("role:Engineering")],
        };
        AccessPolicy { admins: vec![p("user:1")], guilds: [(GUILD, roles)].into() }
    }

    fn release(created_by: u64) -> Release {
        let source = "name: p\nowners: {release_manager: \"role:Payments Leads\"}\nnotices: {channel: \"1\"}\nphases:\n  - id: a\n    activities:\n      - {id: x, wait: {duration: 1m}}\n";
        let process = crate::domain::process_file::parse("p.yaml", source).unwrap_or_else(|e| panic!("{e:?}"));
        Release::new_draft(ReleaseId(1), GUILD, "r".into(), process, Inputs::default(), UserId(created_by), chrono::Utc::now())
    }

    #[test]
    fn each_persona_may_do_its_part_and_a_refusal_names_who_may() {
        let (policy, r) = (policy(), release(2));
        let viewer = person(3, &["Engineering"]);
        let manager = person(4, &["Release Managers"]);
        let lead = person(5, &["Payments Leads"]);
        let admin = person(1, &[]);
        let outsider = person(6, &["Sales"]);
        assert!(policy.may_view(GUILD, &viewer).is_ok());
        assert!(policy.may_view(GUILD, &person(7, &["QA"])).is_ok(), "approvers read what they decide");
        let refused = policy.may_view(GUILD, &outsider).map_err(|e| e.to_string());
        assert_eq!(refused, Err("reading releases here is for role:Engineering, role:Release Managers or role:QA".into()));
        assert!(policy.may_create(GUILD, &manager, &r.process).is_ok());
        assert!(policy.may_create(GUILD, &lead, &r.process).is_ok(), "the process's own release manager");
        let refused = policy.may_create(GUILD, &viewer, &r.process).map_err(|e| e.to_string()).err().unwrap_or_default();
        assert_eq!(refused, "creating a release is for role:Release Managers or role:Payments Leads (this process's release manager)");
        for who in [&manager, &lead, &admin, &person(2, &[])] {
            assert!(policy.may_control(who, &r, Control::Start).is_ok(), "{who:?}");
        }
        let refused = policy.may_control(&viewer, &r, Control::Operate).map_err(|e| e.to_string()).err().unwrap_or_default();
        assert_eq!(
            refused,
            "holding, resuming, aborting, retrying or skipping is for role:Release Managers, role:Payments Leads (this process's release manager) or the release's creator"
        );
        assert!(policy.may_decide(GUILD, &person(7, &["QA"])).is_ok());
        assert!(policy.may_decide(GUILD, &admin).is_ok());
        assert!(policy.may_decide(GUILD, &manager).is_err(), "a process cannot make a non-approver one");
    }

    #[test]
    fn a_release_ci_created_has_no_person_for_a_creator() {
        let policy = AccessPolicy::default();
        let mut r = release(2);
        r.created_by = crate::domain::principal::Initiator::Ci;
        // The user id 0 once stood for CI; nobody is the creator of CI's releases now.
        assert!(policy.may_control(&person(0, &[]), &r, Control::Operate).is_err());
        assert!(policy.may_control(&person(2, &[]), &r, Control::Operate).is_err());
        assert!(policy.may_control(&person(6, &["Payments Leads"]), &r, Control::Operate).is_ok());
    }

    #[test]
    fn an_unconfigured_guild_is_open_but_control_stays_with_the_owners() {
        let policy = AccessPolicy::default();
        let r = release(2);
        let anyone = person(9, &[]);
        assert!(policy.may_view(GUILD, &anyone).is_ok());
        assert!(policy.may_create(GUILD, &anyone, &r.process).is_ok());
        assert!(policy.may_decide(GUILD, &anyone).is_ok());
        assert!(policy.may_control(&anyone, &r, Control::Start).is_err());
        assert!(policy.may_control(&person(2, &[]), &r, Control::Start).is_ok());
    }
}
