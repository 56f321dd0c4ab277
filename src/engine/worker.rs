//! Workers drain the outbox. `try_execute_task` does one unit of work and says whether there was
//! any, so tests can drain deterministically; `run_until_stopped` loops, sleeping until the next
//! row is due or until new work is announced. Timers live in the database, not in sleeping tasks:
//! a restarted worker finds every due row again.

use super::Engine;
use crate::domain::release::{CallOutcome, WebhookCall};
use crate::store::{OutboxItem, Store, StoreError, Topic, WebhookWork};
use crate::webhook::WebhookClient;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// Tells long-running loops to stop.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    pub fn new() -> (watch::Sender<bool>, Self) {
        let (tx, rx) = watch::channel(false);
        (tx, Self(rx))
    }

    pub fn is_stopping(&self) -> bool {
        *self.0.borrow()
    }

    pub async fn stopped(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// How long an idle worker sleeps at most before looking again.
const IDLE_POLL: Duration = Duration::from_secs(5);

/// After a failed task (the database refuses writes: a full disk), a worker waits 100 ms, then
/// twice as long after each further failure, up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The wait after `failures` failed tasks in a row: 100 ms doubling, at most `MAX_BACKOFF`.
fn backoff(failures: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << failures.saturating_sub(1).min(16))).min(MAX_BACKOFF)
}

/// Runs `task` until shutdown: again at once after work, else when the next row of `topic` is
/// due or new work is announced on `wake`, whichever comes first.
pub async fn drain_loop<F, Fut>(mut shutdown: Shutdown, wake: Arc<Notify>, store: Store, topic: Topic, mut task: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let mut failures = 0u32;
    while !shutdown.is_stopping() {
        let failed = match task().await {
            Ok(busy) => {
                if failures > 0 {
                    tracing::info!(?topic, after = failures, "worker tasks succeed again");
                    failures = 0;
                    store.note_writes(None);
                }
                if busy {
                    continue;
                }
                false
            }
            Err(e) => {
                // Once per back-off step (each failure doubles the wait), not once per try.
                failures += 1;
                tracing::error!(error = ?e, ?topic, failures, retry_in = ?backoff(failures), "worker task failed");
                store.note_writes(Some(format!("{:#}", e)));
                true
            }
        };
        let wait = if failed {
            backoff(failures)
        } else {
            match store.next_due(topic).await.ok().flatten() {
                Some(due) => {
                    let ms = (due - store.now().timestamp_millis()).clamp(0, IDLE_POLL.as_millis() as i64);
                    Duration::from_millis(ms as u64)
                }
                None => IDLE_POLL,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = wake.notified() => {}
            _ = shutdown.stopped() => {}
        }
    }
}

/// Checkpoints the WAL every second until shutdown (the writer connection never does; see
/// `Store::open`).
pub async fn checkpoint_until_stopped(store: Store, mut shutdown: Shutdown) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Idle means the WAL has not changed size for a few seconds: nothing is being written.
    let (mut last_size, mut unchanged) = (0u64, 0u32);
    while !shutdown.is_stopping() {
        tokio::select! {
            _ = every.tick() => {
                let size = store.wal_bytes();
                unchanged = if size == last_size { unchanged + 1 } else { 0 };
                match store.checkpoint(unchanged >= 5).await {
                    Ok(after) => last_size = after,
                    Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; the next one will catch up"),
                }
            }
            _ = shutdown.stopped() => {}
        }
    }
}

/// How long a claimed webhook task stays claimed: longer than the longest allowed try, so a live
/// call is never re-claimed. Start-up frees every lease (one instance per database).
pub(super) const WEBHOOK_LEASE: Duration = Duration::from_secs(3_700);

/// The task a worker claimed in the same commit that recorded its previous one: one write
/// transaction per task instead of two. Each worker owns one, so workers are not `Clone`.
#[derive(Default)]
pub struct NextTask(Mutex<Option<OutboxItem>>);

impl NextTask {
    /// The carried task, else the next due row of `topic` claimed for `lease`.
    pub async fn take_or_claim(&self, store: &Store, topic: Topic, lease: Duration) -> Result<Option<OutboxItem>, StoreError> {
        let carried = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        match carried {
            Some(item) => Ok(Some(item)),
            None => store.claim_outbox(topic, lease).await,
        }
    }

    pub fn carry(&self, next: Option<OutboxItem>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = next;
    }
}

pub struct WebhookWorker {
    engine: Engine,
    client: WebhookClient,
    next: NextTask,
    /// A task done whose result the database refused (a full disk): recorded before any new work,
    /// once writes go through again, so a call that was made is never made again.
    unrecorded: Mutex<Option<Unrecorded>>,
}

/// What a worker still owes the database.
enum Unrecorded {
    /// A webhook try's outcome: the call happened; only its result is missing.
    Result { item: OutboxItem, call: Box<WebhookCall>, outcome: CallOutcome },
    /// A timer or a look whose result was lost: doing it again is harmless, so its row is put
    /// back to be claimed at once instead of waiting out its lease.
    Claim(OutboxItem),
}

impl WebhookWorker {
    pub fn new(engine: Engine, client: WebhookClient) -> Self {
        Self { engine, client, next: NextTask::default(), unrecorded: Mutex::new(None) }
    }

    /// Runs one webhook task (a try, a timer, a check's look), if one is due, and applies its
    /// result. Returns whether there was one.
    pub async fn try_execute_task(&self) -> anyhow::Result<bool> {
        if self.settle_unrecorded().await? {
            return Ok(true);
        }
        let Some(item) = self.next.take_or_claim(self.engine.store(), Topic::Webhook, WEBHOOK_LEASE).await? else {
            return Ok(false);
        };
        self.next.carry(self.execute(&item).await?);
        Ok(true)
    }

    /// Records what the database refused last time, if anything. Err while it still refuses.
    async fn settle_unrecorded(&self) -> anyhow::Result<bool> {
        let owed = self.unrecorded.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(owed) = owed else { return Ok(false) };
        let done = match &owed {
            Unrecorded::Result { item, call, outcome } => self
                .engine
                .record_webhook_result(item, call, outcome.clone())
                .await
                .map(|next| self.next.carry(next))
                .map_err(anyhow::Error::from),
            Unrecorded::Claim(item) => {
                self.engine.store().retry_outbox(item, Duration::ZERO, "the database refused its result").await.map_err(anyhow::Error::from)
            }
        };
        if let Err(e) = done {
            self.owe(owed);
            return Err(e.context("the database still refuses a result this worker holds"));
        }
        tracing::info!("a result the database refused earlier is recorded");
        Ok(true)
    }

    fn owe(&self, owed: Unrecorded) {
        *self.unrecorded.lock().unwrap_or_else(|p| p.into_inner()) = Some(owed);
    }

    async fn execute(&self, item: &OutboxItem) -> anyhow::Result<Option<OutboxItem>> {
        let call = match serde_json::from_value(item.payload.clone()) {
            Ok(WebhookWork::Call(call)) => call,
            Ok(WebhookWork::Deadline(deadline)) => {
                return self.engine.fire_timer(item, &deadline).await.map_err(|e| {
                    self.owe(Unrecorded::Claim(item.clone()));
                    e.into()
                })
            }
            Ok(WebhookWork::ScheduledStart(start)) => {
                return self.engine.fire_scheduled_start(item, &start).await.map_err(|e| {
                    self.owe(Unrecorded::Claim(item.clone()));
                    e.into()
                })
            }
            Ok(WebhookWork::Poll(poll)) => {
                let answer = self.client.poll(&item.key, &poll).await;
                return self.engine.record_poll_result(item, &poll, answer).await.map_err(|e| {
                    self.owe(Unrecorded::Claim(item.clone()));
                    e.into()
                });
            }
            Err(e) => {
                // Only a schema change without a migration can cause this; retrying cannot help.
                tracing::error!(key = %item.key, error = %e, "unreadable webhook row; it is set aside");
                self.engine.set_aside(item, &format!("unreadable payload: {e}")).await?;
                return Ok(None);
            }
        };
        let started = std::time::Instant::now();
        let outcome = self.client.call(&item.key, &call).await;
        self.engine.metrics.webhook_call_seconds.observe(started.elapsed());
        match self.engine.record_webhook_result(item, &call, outcome.clone()).await {
            Ok(next) => Ok(next),
            Err(e) => {
                self.owe(Unrecorded::Result { item: item.clone(), call: Box::new(call), outcome });
                Err(e.into())
            }
        }
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) {
        let (wake, store) = (self.engine.webhook_wake.clone(), self.engine.store().clone());
        drain_loop(shutdown, wake, store, Topic::Webhook, || self.try_execute_task()).await;
    }
}

/// Posts the audit chain's head to the audit channel once per UTC day: checked every ten
/// minutes after the check at start, keyed by the day so restarts and several checks post it once.
pub async fn daily_audit_head_until_stopped(engine: super::Engine, mut shutdown: Shutdown) {
    let mut every = tokio::time::interval(Duration::from_secs(600));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is now: `Application::run_until_stopped` has just checked.
    every.tick().await;
    while !shutdown.is_stopping() {
        tokio::select! {
            _ = every.tick() => publish_todays_audit_head(&engine).await,
            _ = shutdown.stopped() => {}
        }
    }
}

/// One check: enqueues today's (UTC) audit head unless it already was. A failure is logged;
/// the next check tries again.
pub async fn publish_todays_audit_head(engine: &super::Engine) {
    let today = engine.now().format("%Y-%m-%d").to_string();
    if let Err(e) = engine.publish_daily_audit_head(&today).await {
        tracing::warn!(error = %e, "cannot enqueue the daily audit head; the next check tries again");
    }
}
