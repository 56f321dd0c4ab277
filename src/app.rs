//! The application: store, engine, workers and the Discord client, built from configuration
//! and run until told to stop.

use crate::discord::{self, BotConfig, Notifier};
use crate::domain::process_file;
use crate::engine::{Engine, Shutdown, WebhookWorker};
use crate::store::Store;
use crate::webhook::WebhookClient;
use anyhow::Context;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Settings {
    pub bot: BotConfig,
    pub database: PathBuf,
    pub processes: PathBuf,
}

pub struct Application {
    engine: Engine,
    client: poise::serenity_prelude::Client,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let catalog = process_file::load_dir(&settings.processes).map_err(|diagnostics| {
            let all = diagnostics.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n");
            anyhow::anyhow!("the process files have errors:\n{all}")
        })?;
        tracing::info!(processes = catalog.len(), dir = %settings.processes.display(), "processes loaded");
        let store = Store::open(&settings.database).await?;
        let resumed = store.release_stale_leases().await?;
        if resumed > 0 {
            tracing::warn!(deliveries = resumed, "resuming deliveries a previous run left unfinished");
        }
        let engine = Engine::new(store, catalog);
        let client = discord::build_client(&settings.bot, engine.clone())
            .await
            .context("cannot build the Discord client")?;
        Ok(Self { engine, client })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs the bot and the workers until `shutdown` fires or the gateway connection ends.
    pub async fn run_until_stopped(mut self, mut shutdown: Shutdown) -> anyhow::Result<()> {
        let webhooks = WebhookWorker::new(self.engine.clone(), WebhookClient::new()?);
        let notifier = Notifier::new(self.engine.clone(), self.client.http.clone());
        let workers = [
            tokio::spawn(webhooks.run_until_stopped(shutdown.clone())),
            tokio::spawn(notifier.run_until_stopped(shutdown.clone())),
        ];
        let shards = self.client.shard_manager.clone();
        let result = tokio::select! {
            r = self.client.start() => r.context("the Discord connection ended"),
            _ = shutdown.stopped() => Ok(()),
        };
        shards.shutdown_all().await;
        // Workers see the same shutdown; one stuck in a call is cut off. Its outbox row stays
        // claimed until the lease runs out, then is delivered again with the same key.
        for worker in workers {
            let abort = worker.abort_handle();
            if tokio::time::timeout(std::time::Duration::from_secs(2), worker).await.is_err() {
                abort.abort();
            }
        }
        result
    }
}
