//! Subprocess links between releases: a parent's `subprocess` activity starts a child release
//! in the parent's transaction, a child's end finishes that activity, and a stopped activity
//! aborts its child. Each step saves another release, which may in turn reach its own parent or
//! children, so these futures are boxed.

use super::{Engine, EngineError};
use crate::domain::principal::Initiator;
use crate::domain::release::{AuditActor, ChildRelease, CommandError, Draft, ParentLink, Release, ReleaseId, StepStatus};
use crate::store::{Store, Tx};
use serde_json::json;

/// A save of another release, boxed because saves recurse through parents and children.
pub(super) type Saving<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), EngineError>> + Send + 'a>>;

impl Engine {
    /// Creates and starts a `subprocess` activity's child release in the parent's transaction.
    /// Boxed: saving the child may finish it at once, which goes back to the parent.
    pub(super) fn start_child<'a>(&'a self, tx: &'a mut Tx, parent: &'a Release, child: &'a ChildRelease) -> Saving<'a> {
        Box::pin(async move {
            let now = self.now();
            // The child is the work of whoever started its parent, shown as the parent release.
            let initiator = parent.started_by.unwrap_or(parent.created_by);
            let shown_as = format!("release {}", parent.id);
            let audit = match initiator {
                Initiator::Person(id) => AuditActor::User { id, name: shown_as.clone() },
                Initiator::Ci | Initiator::Group => AuditActor::System,
            };
            let mut process = (*child.process).clone();
            // A child whose process names no channel posts where its parent does.
            process.notices_channel = process.notices_channel.or(parent.process.notices_channel);
            let draft = Draft {
                guild_id: parent.guild_id,
                name: child.name.clone(),
                process,
                inputs: child.inputs.clone(),
                created_by: initiator,
                created_at: now,
                parent: Some(child.parent.clone()),
            };
            let mut release = Store::insert_release(tx, draft).await?;
            Store::persist_effects(tx, &release, &release.created_effects(audit.clone())).await?;
            let detail = json!({"activity": child.parent.activity, "attempt": child.parent.attempt, "child_release": release.id.0});
            Store::append_audit(tx, Some(parent.id), &AuditActor::System, "subprocess_started", &detail).await?;
            let before = release.clone();
            let mut effects = release.start_as(initiator, audit, shown_as, now)?;
            self.save(tx, &before, &release, &mut effects).await
        })
    }

    pub(super) fn abort_child<'a>(&'a self, tx: &'a mut Tx, id: ReleaseId, reason: String) -> Saving<'a> {
        Box::pin(async move {
            let Some(mut child) = Store::load_release(tx, id).await? else { return Ok(()) };
            let before = child.clone();
            let mut effects = child.abort_for_parent(&reason);
            self.save(tx, &before, &child, &mut effects).await
        })
    }

    /// A child release ended: its parent's `subprocess` activity takes the result.
    pub(super) fn finish_parent<'a>(&'a self, tx: &'a mut Tx, child: &'a Release, link: &'a ParentLink) -> Saving<'a> {
        Box::pin(async move {
            let Some(mut parent) = Store::load_release(tx, link.release).await? else { return Ok(()) };
            if parent.activity(&link.activity).is_some_and(|a| a.status == StepStatus::Aborted) {
                return Ok(()); // the parent stopped it and aborted this child: nothing to take
            }
            let before = parent.clone();
            match parent.child_finished(link, child.id, child.status, child.reason.as_deref(), self.now()) {
                Ok(mut effects) => self.save(tx, &before, &parent, &mut effects).await,
                Err(e @ CommandError::Stale { .. }) => {
                    let detail = json!({"activity": link.activity, "child_release": child.id.0, "why_ignored": e.to_string()});
                    Store::append_audit(tx, Some(parent.id), &AuditActor::System, "stale_result_ignored", &detail).await?;
                    Ok(())
                }
                Err(e) => Err(e.into()),
            }
        })
    }
}
