//! Group commit of webhook results. Every write goes through one SQLite connection, and a
//! transaction holds it for about ten statement round trips to sqlx's SQLite thread (~45 µs
//! each on the 2-core machine, idle), while the statements themselves take a fifth of that.
//! So results that arrive together are recorded together: the first worker to arrive leads,
//! takes the writer, and records every result queued by then in ONE transaction (one BEGIN,
//! one COMMIT, one claim of the workers' next tasks); then it hands the lead to a worker still
//! waiting, so no worker serves the others for long.
//!
//! Nothing is weakened: each result is fenced as alone (its outbox claim, its attempt), the
//! release cache confirms only what committed, and when anything in a batch fails the batch is
//! rolled back and its results are recorded one by one, each failing or succeeding on its own.

use super::{cache, Engine, EngineError, WEBHOOK_LEASE};
use crate::domain::release::{CallOutcome, Effect, ReleaseId, WebhookCall};
use crate::store::{OutboxItem, Store, StoreError, Topic};
use serde_json::json;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Results in one transaction at most: a bound on how long a batch holds the writer.
const MAX_BATCH: usize = 32;

type Recorded = Result<Option<OutboxItem>, EngineError>;

/// A result waiting to be recorded.
struct Waiting {
    item: OutboxItem,
    call: WebhookCall,
    outcome: CallOutcome,
    done: oneshot::Sender<Recorded>,
    /// Told when this worker is to lead the next batch.
    lead: Option<oneshot::Sender<()>>,
}

/// The results waiting, and whether a worker leads.
#[derive(Default)]
pub struct ResultQueue(Mutex<Queue>);

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    leading: bool,
}

impl ResultQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// After a batch: the lead goes to a worker still waiting; without waiting results nobody
    /// leads. False when results wait but none of their workers is there to lead (they gave up):
    /// the caller leads on.
    fn hand_off(&self) -> bool {
        let mut queue = self.lock();
        while let Some(lead) = queue.waiting.iter_mut().find_map(|w| w.lead.take()) {
            if lead.send(()).is_ok() {
                return true;
            }
        }
        if queue.waiting.is_empty() {
            queue.leading = false;
            return true;
        }
        false
    }
}

/// A leader dropped mid-batch (its task aborted at shutdown) still hands the lead on.
struct Leading<'a> {
    queue: &'a ResultQueue,
    finished: bool,
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        if !self.finished && !self.queue.hand_off() {
            self.queue.lock().leading = false;
        }
    }
}

/// What applying one result in a batch left to do after the commit.
struct Applied<'a> {
    id: ReleaseId,
    outcome: &'a CallOutcome,
    saved: Option<cache::Saved>,
    effects: Vec<Effect>,
}

impl Engine {
    /// Applies the result of a delivered webhook try, fenced twice: by the outbox claim (a
    /// re-claimed delivery cannot complete) and by the attempt number (an old try changes nothing;
    /// it is recorded in the audit trail). Recorded with the results of other workers that arrive
    /// meanwhile (see the module); returns the next webhook task claimed for this worker.
    pub async fn record_webhook_result(&self, item: &OutboxItem, call: &WebhookCall, outcome: CallOutcome) -> Recorded {
        let (done_tx, mut done) = oneshot::channel();
        let (lead_tx, lead) = oneshot::channel();
        let leads_now = {
            let mut queue = self.results.lock();
            queue.waiting.push(Waiting { item: item.clone(), call: call.clone(), outcome, done: done_tx, lead: Some(lead_tx) });
            !std::mem::replace(&mut queue.leading, true)
        };
        if leads_now {
            self.lead_batches().await;
        } else {
            tokio::select! {
                biased;
                recorded = &mut done => return recorded.unwrap_or_else(|_| Err(abandoned())),
                Ok(()) = lead => self.lead_batches().await,
            }
        }
        done.await.unwrap_or_else(|_| Err(abandoned()))
    }

    /// Records batches until the lead can be handed on.
    async fn lead_batches(&self) {
        let mut leading = Leading { queue: &self.results, finished: false };
        loop {
            self.record_batch().await;
            if self.results.hand_off() {
                leading.finished = true;
                return;
            }
        }
    }

    /// One batch: the writer first, then every result waiting by then.
    async fn record_batch(&self) {
        let tx = self.store.begin().await;
        let batch: Vec<Waiting> = {
            let mut queue = self.results.lock();
            let n = queue.waiting.len().min(MAX_BATCH);
            queue.waiting.drain(..n).collect()
        };
        if batch.is_empty() {
            return;
        }
        let failed = match tx {
            Ok(tx) => match self.apply_batch(tx, &batch).await {
                Ok(nexts) => {
                    for (waiting, next) in batch.into_iter().zip(nexts) {
                        let _ = waiting.done.send(Ok(next));
                    }
                    return;
                }
                Err(e) => e,
            },
            Err(e) => e.into(),
        };
        tracing::warn!(error = %failed, results = batch.len(), "a batch of webhook results failed; recording them one by one");
        for waiting in batch {
            let recorded = self.record_alone(&waiting.item, &waiting.call, waiting.outcome).await;
            let _ = waiting.done.send(recorded);
        }
    }

    /// Applies every result of `batch` in `tx`, claims a next task per result and commits.
    /// Returns each result's next task, in order.
    async fn apply_batch(&self, mut tx: crate::store::Tx, batch: &[Waiting]) -> Result<Vec<Option<OutboxItem>>, EngineError> {
        let mut applied: Vec<Applied<'_>> = Vec::with_capacity(batch.len());
        // Every row completed in one statement; a re-claimed one (its claim is no longer
        // current) is left out, and its result dropped, as alone.
        let items: Vec<&OutboxItem> = batch.iter().map(|w| &w.item).collect();
        let completed = Store::complete_many(&mut tx, &items).await?;
        let mut outcome = Ok(());
        for w in batch {
            if !completed.contains(&w.item.id) {
                tracing::warn!(key = %w.item.key, "delivery was re-claimed by another worker; its result is dropped");
                continue;
            }
            let stale = stale_detail(&w.call, &w.outcome);
            match self
                .apply_in(&mut tx, &w.item, stale, |release| {
                    release.webhook_result(&w.call.activity, w.call.attempt, w.outcome.clone(), self.now())
                })
                .await
            {
                Ok(Some((id, saved, effects))) => applied.push(Applied { id, outcome: &w.outcome, saved, effects }),
                Ok(None) => {}
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        let claimed = match outcome {
            Ok(()) => Store::claim_many_in(&mut tx, Topic::Webhook, WEBHOOK_LEASE, batch.len()).await.map_err(EngineError::from),
            Err(e) => Err(e),
        };
        let committed = match claimed {
            Ok(claimed) => tx.commit().await.map(|()| claimed).map_err(|e| StoreError::from(e).into()),
            Err(e) => Err(e),
        };
        let claimed = match committed {
            Ok(claimed) => claimed,
            Err(e) => {
                for a in &applied {
                    self.cache.forget(a.id);
                }
                return Err(e);
            }
        };
        for a in &applied {
            if let Some(saved) = a.saved {
                self.cache.confirm(saved);
            }
        }
        // The batch's workers took new work already (the claims above): wake others only for
        // the rest, each waking worker being a claim at the writer.
        let work: usize = applied.iter().map(|a| super::webhook_work(&a.effects)).sum();
        let chat = applied.iter().any(|a| a.effects.iter().any(|e| matches!(e, Effect::Notify(_))));
        self.wake(work.saturating_sub(claimed.len()), chat);
        // Counted as alone: results whose release took them (not those dropped as re-claimed).
        for a in &applied {
            self.metrics.record_webhook_outcome(a.outcome);
        }
        let mut claimed = claimed.into_iter();
        Ok(batch.iter().map(|_| claimed.next()).collect())
    }

    /// One result in a transaction of its own (the path of a batch that failed).
    async fn record_alone(&self, item: &OutboxItem, call: &WebhookCall, outcome: CallOutcome) -> Recorded {
        let stale = stale_detail(call, &outcome);
        self.apply_delivered(item, stale, |release| {
            self.metrics.record_webhook_outcome(&outcome);
            release.webhook_result(&call.activity, call.attempt, outcome, self.now())
        })
        .await
    }
}

/// What the trail says about a result the release refused as stale.
fn stale_detail(call: &WebhookCall, outcome: &CallOutcome) -> serde_json::Value {
    let reason = match outcome {
        CallOutcome::Failure { reason, .. } => Some(reason.clone()),
        _ => None,
    };
    json!({"activity": call.activity, "attempt": call.attempt, "error": reason})
}

/// The batch that held a result was dropped before it answered (shutdown).
fn abandoned() -> EngineError {
    EngineError::NotRunnable("the batch recording this result was stopped; it is recorded again when the worker retries".into())
}
