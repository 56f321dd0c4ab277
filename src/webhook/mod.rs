//! Outbound webhook calls: one POST per try, JSON body, `Idempotency-Key` header, a per-try
//! timeout, no redirects. Only a 2xx answer is success.

use crate::domain::release::{CallOutcome, WebhookCall};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct WebhookClient {
    http: reqwest::Client,
}

impl WebhookClient {
    pub fn new() -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Trainmaster/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self { http })
    }

    /// Performs one try. Every failure becomes a reason a person can act on.
    #[tracing::instrument(skip(self, call), fields(url = %call.url, attempt = call.attempt))]
    pub async fn call(&self, key: &str, call: &WebhookCall) -> CallOutcome {
        let timeout = Duration::from_secs(call.timeout_secs.max(1));
        let sent = self
            .http
            .post(&call.url)
            .header("Idempotency-Key", key)
            .json(&call.payload)
            .timeout(timeout)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => CallOutcome::Success,
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                let excerpt: String = body.chars().take(200).collect();
                let mut reason = format!("HTTP {status}");
                if !excerpt.trim().is_empty() {
                    reason.push_str(&format!(": {}", excerpt.trim()));
                }
                CallOutcome::Failure(reason)
            }
            Err(e) if e.is_timeout() => CallOutcome::Failure(format!("no answer within {}s", timeout.as_secs())),
            Err(e) if e.is_connect() => CallOutcome::Failure(format!("cannot connect to {}", call.url)),
            Err(e) => CallOutcome::Failure(format!("request failed: {e}")),
        }
    }
}
