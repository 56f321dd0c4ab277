//! Workers drain the outbox. `try_execute_task` does one unit of work and says whether there was
//! any, so tests can drain deterministically; `run_until_stopped` loops, sleeping until the next
//! row is due or until new work is announced. Timers live in the database, not in sleeping tasks:
//! a restarted worker finds every due row again.

use super::Engine;
use crate::store::{Store, Topic, WebhookWork};
use crate::webhook::WebhookClient;
use std::future::Future;
use std::sync::Arc;
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

/// Runs `task` until shutdown: again at once after work, else when the next row of `topic` is
/// due or new work is announced on `wake`, whichever comes first.
pub async fn drain_loop<F, Fut>(mut shutdown: Shutdown, wake: Arc<Notify>, store: Store, topic: Topic, mut task: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    while !shutdown.is_stopping() {
        match task().await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::error!(error = ?e, "worker task failed"),
        }
        let wait = match store.next_due(topic).await.ok().flatten() {
            Some(due) => {
                let ms = (due - chrono::Utc::now().timestamp_millis()).clamp(0, IDLE_POLL.as_millis() as i64);
                Duration::from_millis(ms as u64)
            }
            None => IDLE_POLL,
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = wake.notified() => {}
            _ = shutdown.stopped() => {}
        }
    }
}

#[derive(Clone)]
pub struct WebhookWorker {
    engine: Engine,
    client: WebhookClient,
}

impl WebhookWorker {
    pub fn new(engine: Engine, client: WebhookClient) -> Self {
        Self { engine, client }
    }

    /// Delivers one due webhook try, if any, and applies its result.
    pub async fn try_execute_task(&self) -> anyhow::Result<bool> {
        // The lease outlives the longest allowed try, so a live call is never re-claimed.
        let Some(item) = self.engine.store().claim_outbox(Topic::Webhook, Duration::from_secs(3_700)).await? else {
            return Ok(false);
        };
        let call = match serde_json::from_value(item.payload.clone()) {
            Ok(WebhookWork::Call(call)) => call,
            Ok(WebhookWork::Deadline(deadline)) => {
                self.engine.fire_timer(&item, &deadline).await?;
                return Ok(true);
            }
            Ok(WebhookWork::Poll(poll)) => {
                let answer = self.client.poll(&item.key, &poll).await;
                self.engine.record_poll_result(&item, &poll, answer).await?;
                return Ok(true);
            }
            Err(e) => {
                // Only a schema change without a migration can cause this; retrying cannot help.
                tracing::error!(key = %item.key, error = %e, "unreadable webhook row; it is set aside");
                self.engine.set_aside(&item, &format!("unreadable payload: {e}")).await?;
                return Ok(true);
            }
        };
        let started = std::time::Instant::now();
        let outcome = self.client.call(&item.key, &call).await;
        self.engine.metrics.webhook_call_seconds.observe(started.elapsed());
        self.engine.record_webhook_result(&item, &call, outcome).await?;
        Ok(true)
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) {
        let (wake, store) = (self.engine.webhook_wake.clone(), self.engine.store().clone());
        drain_loop(shutdown, wake, store, Topic::Webhook, || self.try_execute_task()).await;
    }
}
