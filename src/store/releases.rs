//! Releases: insert a draft, load one whole, save its new state with the effects it implies.

use super::{corrupt, outbox, StoreError, Tx};
use crate::domain::inputs::Inputs;
use crate::domain::principal::Initiator;
use crate::domain::release::{
    ActivityRun, AuditActor, Decision, Draft, Effect, Notice, ParentLink, PhaseRun, Release, ReleaseId, ReleaseStatus, StepStatus,
};
use crate::domain::GuildId;
use crate::domain::{Process, UserId};
use chrono::{DateTime, Utc};

pub(super) fn to_i64(id: u64) -> i64 {
    id as i64
}

pub(super) fn to_u64(id: i64) -> u64 {
    id as u64
}

/// `created_by` and `started_by` hold a Discord user id, 0 for CI and -1 for a release group
/// (the columns predate both; no Discord user has either id). The numbers stay in this file.
fn initiator_column(initiator: Initiator) -> i64 {
    match initiator {
        Initiator::Person(user) => to_i64(user.0),
        Initiator::Ci => 0,
        Initiator::Group => -1,
    }
}

fn initiator(column: i64) -> Initiator {
    match column {
        0 => Initiator::Ci,
        -1 => Initiator::Group,
        user => Initiator::Person(UserId(to_u64(user))),
    }
}

impl super::Store {
    /// Stores a draft (its row, phase runs and activity runs): the release it now is.
    pub async fn insert_release(tx: &mut Tx, draft: Draft) -> Result<Release, StoreError> {
        let now = tx.now().to_rfc3339();
        let process_json = serde_json::to_string(&draft.process).map_err(corrupt)?;
        let inputs_json = serde_json::to_string(&draft.inputs).map_err(corrupt)?;
        let row = sqlx::query_file!(
            "src/store/sql/insert_release.sql",
            to_i64(draft.guild_id.0),
            draft.name,
            draft.process.name,
            draft.process.version,
            process_json,
            inputs_json,
            ReleaseStatus::Draft.as_str(),
            initiator_column(draft.created_by),
            draft.created_at.to_rfc3339(),
            now,
            draft.parent.as_ref().map(|p| p.release.0),
            draft.parent.as_ref().map(|p| p.activity.as_str()),
            draft.parent.as_ref().map(|p| i64::from(p.attempt))
        )
        .fetch_one(&mut **tx)
        .await?;
        let (id, release) = (row.id, draft.stored(ReleaseId(row.id), row.installation.unwrap_or_default()));
        // One multi-row INSERT per table instead of a statement per row: creating a release is a
        // transaction on the single writer connection, and every statement is a round trip to it.
        // sqlx cannot check a statement built at run time, so these two (and the audit rows')
        // are the only ones not checked at compile time: `tests/it` covers them.
        if !release.phases.is_empty() {
            let mut phases = sqlx::QueryBuilder::<sqlx::Sqlite>::new(include_str!("sql/insert_phase_runs.sql"));
            phases.push_values(release.phases.iter().enumerate(), |mut b, (position, phase)| {
                b.push_bind(id).push_bind(&phase.id).push_bind(position as i64).push_bind(phase.status.as_str());
            });
            phases.build().execute(&mut **tx).await?;
        }
        let activities: Vec<_> =
            release.phases.iter().flat_map(|phase| phase.activities.iter().map(move |a| (phase, a))).enumerate().collect();
        // 7 variables a row; SQLite allows 32,766 in one statement.
        for chunk in activities.chunks(1_000) {
            let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(include_str!("sql/insert_activity_runs.sql"));
            insert.push_values(chunk, |mut b, (position, (phase, activity))| {
                b.push_bind(id)
                    .push_bind(&activity.id)
                    .push_bind(&phase.id)
                    .push_bind(*position as i64)
                    .push_bind(activity.status.as_str())
                    .push_bind(activity.attempt as i64)
                    .push_bind(&activity.reason);
            });
            insert.build().execute(&mut **tx).await?;
        }
        Ok(release)
    }

    /// Loads a release with its phases, activities and decisions.
    pub async fn load_release(tx: &mut Tx, id: ReleaseId) -> Result<Option<Release>, StoreError> {
        let Some(row) = sqlx::query_file!("src/store/sql/select_release.sql", id.0).fetch_optional(&mut **tx).await? else {
            return Ok(None);
        };
        let process: Process = serde_json::from_str::<Process>(&row.process_json).map_err(corrupt)?.upgrade();
        let inputs: Inputs = serde_json::from_str(&row.inputs_json).map_err(corrupt)?;
        let status = row.status;
        let mut release = Release {
            id,
            guild_id: GuildId(to_u64(row.guild_id)),
            name: row.name,
            process,
            inputs,
            status: ReleaseStatus::parse(&status).ok_or_else(|| corrupt(format!("release status {status}")))?,
            created_by: initiator(row.created_by),
            started_by: row.started_by.map(initiator),
            created_at: DateTime::parse_from_rfc3339(&row.created_at).map_err(corrupt)?.with_timezone(&Utc),
            reason: row.reason,
            phases: vec![],
            parent: row.parent_release_id.map(|parent| ParentLink {
                release: ReleaseId(parent),
                activity: row.parent_activity.unwrap_or_default(),
                attempt: row.parent_attempt.unwrap_or_default() as u32,
            }),
            installation: row.installation.unwrap_or_default(),
            risk: match row.risk_json {
                Some(json) => serde_json::from_str(&json).map_err(corrupt)?,
                None => Default::default(),
            },
            schedule: row.schedule_json.map(|json| serde_json::from_str(&json)).transpose().map_err(corrupt)?,
        };
        for row in sqlx::query_file!("src/store/sql/select_runs.sql", id.0).fetch_all(&mut **tx).await? {
            if release.phases.last().is_none_or(|p| p.id != row.phase_id) {
                release.phases.push(PhaseRun { id: row.phase_id, status: step(row.phase_status)?, activities: vec![] });
            }
            let Some(activity_id) = row.activity_id else { continue };
            let run = ActivityRun {
                id: activity_id,
                status: step(row.status.unwrap_or_default())?,
                attempt: row.attempt.unwrap_or_default() as u32,
                run_attempt: row.run_attempt.unwrap_or(1) as u32,
                reason: row.reason,
                decisions: vec![],
                outputs: serde_json::from_str(row.outputs_json.as_deref().unwrap_or("{}")).map_err(corrupt)?,
                approval: row.approval_json.map(|a| serde_json::from_str(&a)).transpose().map_err(corrupt)?.unwrap_or_default(),
            };
            if let Some(phase) = release.phases.last_mut() {
                phase.activities.push(run);
            }
        }
        // Only approvals have decisions; most loads (webhook results) skip the query.
        let has_approvals = release
            .process
            .phases
            .iter()
            .flat_map(|p| p.activities.iter())
            .chain(release.process.rollback.iter())
            .any(|a| matches!(a.kind, crate::domain::process::ActivityKind::Approval(_)));
        let decisions =
            if has_approvals { sqlx::query_file!("src/store/sql/select_decisions.sql", id.0).fetch_all(&mut **tx).await? } else { vec![] };
        for row in decisions {
            if let Some(run) = release.phases.iter_mut().flat_map(|p| p.activities.iter_mut()).find(|a| a.id == row.activity_id) {
                run.decisions.push(Decision {
                    user: UserId(to_u64(row.user_id)),
                    name: row.user_name,
                    approve: row.approve != 0,
                    level: row.level as u32,
                    on_behalf_of: row.on_behalf_of.map(|user| (UserId(to_u64(user)), row.on_behalf_of_name.unwrap_or_default())),
                    principals: serde_json::from_str(&row.principals_json).map_err(corrupt)?,
                });
            }
        }
        Ok(Some(release))
    }

    /// Saves the state of `release` and persists `effects` (audit rows, outbox rows).
    /// Only rows that differ from `before` (the release as loaded) are written: a transition
    /// usually touches one or two activities, and each statement costs inside the write lock.
    pub async fn save_release(tx: &mut Tx, before: &Release, release: &Release, effects: &[Effect]) -> Result<(), StoreError> {
        let now = tx.now().to_rfc3339();
        let release_row_changed = before.status != release.status
            || before.reason != release.reason
            || before.started_by != release.started_by
            || before.name != release.name
            || before.inputs != release.inputs
            || before.risk != release.risk
            || before.schedule != release.schedule;
        if release_row_changed {
            let inputs_json = serde_json::to_string(&release.inputs).map_err(corrupt)?;
            let risk_json = serde_json::to_string(&release.risk).map_err(corrupt)?;
            let schedule_json = release.schedule.as_ref().map(serde_json::to_string).transpose().map_err(corrupt)?;
            let planned_at = release.schedule.as_ref().map(|s| super::planning::sortable(s.at));
            sqlx::query_file!(
                "src/store/sql/update_release.sql",
                release.status.as_str(),
                release.reason,
                release.started_by.map(initiator_column),
                now,
                release.name,
                inputs_json,
                risk_json,
                schedule_json,
                planned_at,
                release.id.0
            )
            .execute(&mut **tx)
            .await?;
        }
        // The changed activities' rows, written together in one statement after the loop.
        let mut changed: Vec<serde_json::Value> = vec![];
        for phase in &release.phases {
            let old_phase = before.phases.iter().find(|p| p.id == phase.id);
            if old_phase.is_some_and(|p| p.status == phase.status && p.activities == phase.activities) {
                continue;
            }
            if old_phase.is_none_or(|p| p.status != phase.status) {
                sqlx::query_file!("src/store/sql/update_phase_run.sql", phase.status.as_str(), release.id.0, phase.id)
                    .execute(&mut **tx)
                    .await?;
            }
            for activity in &phase.activities {
                let old = old_phase.and_then(|p| p.activities.iter().find(|a| a.id == activity.id));
                if old == Some(activity) {
                    continue;
                }
                let outputs_json = serde_json::to_string(&activity.outputs).map_err(corrupt)?;
                let approval_json = (activity.approval != Default::default())
                    .then(|| serde_json::to_string(&activity.approval))
                    .transpose()
                    .map_err(corrupt)?;
                changed.push(serde_json::json!([
                    activity.id,
                    activity.status.as_str(),
                    activity.attempt,
                    activity.reason,
                    outputs_json,
                    approval_json,
                    activity.run_attempt
                ]));
                if activity.decisions.is_empty() && old.is_some_and(|o| !o.decisions.is_empty()) {
                    // A retried approval starts a new round of decisions.
                    sqlx::query_file!("src/store/sql/delete_decisions.sql", release.id.0, activity.id).execute(&mut **tx).await?;
                }
                for d in activity.decisions.iter().filter(|d| old.is_none_or(|o| !o.decisions.contains(d))) {
                    let principals_json = serde_json::to_string(&d.principals).map_err(corrupt)?;
                    sqlx::query_file!(
                        "src/store/sql/insert_decision.sql",
                        release.id.0,
                        activity.id,
                        to_i64(d.user.0),
                        d.name,
                        d.approve,
                        now,
                        i64::from(d.level),
                        d.on_behalf_of.as_ref().map(|(u, _)| to_i64(u.0)),
                        d.on_behalf_of.as_ref().map(|(_, n)| n.as_str()),
                        principals_json
                    )
                    .execute(&mut **tx)
                    .await?;
                }
            }
        }
        if !changed.is_empty() {
            let rows = serde_json::Value::Array(changed).to_string();
            sqlx::query_file!("src/store/sql/update_activity_runs.sql", release.id.0, tx.now_ms(), rows).execute(&mut **tx).await?;
        }
        Self::persist_effects(tx, release, effects).await
    }

    /// The child release started by try `attempt` of `activity` of `parent`, if any.
    pub async fn child_of(tx: &mut Tx, parent: ReleaseId, activity: &str, attempt: u32) -> Result<Option<ReleaseId>, StoreError> {
        let id = sqlx::query_file_scalar!("src/store/sql/select_child.sql", parent.0, activity, i64::from(attempt))
            .fetch_optional(&mut **tx)
            .await?;
        Ok(id.map(ReleaseId))
    }

    /// Deletes a Draft release (its runs go with it; its audit rows stay, append-only).
    /// Returns whether a Draft was deleted.
    pub async fn delete_draft(tx: &mut Tx, id: ReleaseId) -> Result<bool, StoreError> {
        let done = sqlx::query_file!("src/store/sql/delete_draft.sql", id.0).execute(&mut **tx).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Writes the audit rows and outbox rows `effects` call for.
    pub async fn persist_effects(tx: &mut Tx, release: &Release, effects: &[Effect]) -> Result<(), StoreError> {
        let audits: Vec<(&AuditActor, &str, &serde_json::Value)> = effects
            .iter()
            .filter_map(|e| match e {
                Effect::Audit { actor, action, detail } => Some((actor, *action, detail)),
                _ => None,
            })
            .collect();
        Self::append_audit_rows(tx, Some(release.id), &audits).await?;
        for effect in effects {
            match effect {
                Effect::Audit { .. } => {}
                Effect::Notify(notice @ Notice::Message { channel: Some(channel), .. }) => {
                    outbox::enqueue_chat_to(tx, release, *channel, notice).await?
                }
                Effect::Notify(notice) => outbox::enqueue_chat(tx, release, notice).await?,
                Effect::CallWebhook(call) => outbox::enqueue_webhook(tx, release, call).await?,
                Effect::Timer(deadline) => outbox::enqueue_deadline(tx, release, deadline).await?,
                Effect::Poll(poll) => outbox::enqueue_poll(tx, release, poll).await?,
                Effect::StartAt(start) => outbox::enqueue_scheduled_start(tx, release, start).await?,
                Effect::AdvanceNotice(notice) => outbox::enqueue_advance_notice(tx, release, notice).await?,
                // The engine creates the child release; nothing to store for it here.
                Effect::StartChild(_) => {}
            }
        }
        Ok(())
    }
}

fn step(s: String) -> Result<StepStatus, StoreError> {
    StepStatus::parse(&s).ok_or_else(|| corrupt(format!("step status {s}")))
}
