//! Delegations through the engine: give, revoke, list, and the ones a decider may act under.
//! Giving and revoking are audited (release-less rows in the same chain).

use super::{Engine, EngineError};
use crate::domain::delegation::{Authority, Delegation, DelegationError};
use crate::domain::principal::Actor;
use crate::domain::release::{AuditActor, CommandError};
use crate::domain::{GuildId, UserId};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;

impl From<DelegationError> for EngineError {
    fn from(e: DelegationError) -> Self {
        EngineError::NotRunnable(e.to_string())
    }
}

/// What `/delegate` asks for.
#[derive(Debug, Clone)]
pub struct NewDelegation {
    pub to: UserId,
    pub to_name: String,
    pub until: DateTime<Utc>,
    pub process: Option<String>,
}

impl Engine {
    /// `from` hands their authority (their roles as of now) to someone until a time.
    #[tracing::instrument(skip(self, from), fields(from = %from.user))]
    pub async fn delegate(&self, guild_id: GuildId, from: &Actor, new: NewDelegation) -> Result<Delegation, EngineError> {
        let now = self.now();
        if let Some(process) = &new.process {
            if self.catalog.get(process).is_none() {
                let known = self.catalog.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
                return Err(EngineError::UnknownProcess { name: process.clone(), known });
            }
        }
        let mut delegation = Delegation::new(from, new.to, &new.to_name, new.until, new.process, now)?;
        let mut tx = self.store.begin().await?;
        delegation.id = Store::insert_delegation(&mut tx, guild_id, &delegation, now).await?;
        let detail = json!({
            "delegation": delegation.id, "guild_id": guild_id, "to": {"id": delegation.to, "name": delegation.to_name},
            "until": delegation.until.to_rfc3339(), "process": delegation.process,
            "roles": from.roles.iter().map(|(_, name)| name).collect::<Vec<_>>(),
        });
        Store::append_audit(&mut tx, None, &AuditActor::from(from), "delegation_given", &detail).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(delegation)
    }

    /// Revokes what `from` delegated (to `to`, or everything); returns what was revoked.
    pub async fn revoke_delegation(&self, guild_id: GuildId, from: &Actor, to: Option<UserId>) -> Result<Vec<Delegation>, EngineError> {
        let mut tx = self.store.begin().await?;
        let revoked = Store::revoke_delegations(&mut tx, guild_id, from.user, to, self.now()).await?;
        for d in &revoked {
            let detail = json!({"delegation": d.id, "guild_id": guild_id, "to": {"id": d.to, "name": d.to_name}});
            Store::append_audit(&mut tx, None, &AuditActor::from(from), "delegation_revoked", &detail).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(revoked)
    }

    /// Live delegations `user` gave or received in a guild.
    pub async fn delegations_of(&self, guild_id: GuildId, user: UserId) -> Result<Vec<Delegation>, EngineError> {
        Ok(self.store.delegations_of(guild_id, user, self.now()).await?)
    }

    /// The delegations `actor` may decide under, after the guild's approvers gate: a person who
    /// is no approver of the guild may still decide for someone who is, by their delegation.
    pub(super) async fn deciding_as(&self, guild_id: GuildId, actor: &Actor) -> Result<Authority, EngineError> {
        let delegations = self.store.delegations_to(guild_id, actor.user, self.now()).await?;
        let usable: Vec<Delegation> = delegations.into_iter().filter(|d| self.access.may_decide(guild_id, &d.from).is_ok()).collect();
        match self.access.may_decide(guild_id, actor) {
            Ok(()) => Ok(Authority { own: true, delegations: usable }),
            Err(denied) if usable.is_empty() => Err(CommandError::from(denied).into()),
            Err(_) => Ok(Authority { own: false, delegations: usable }),
        }
    }
}
