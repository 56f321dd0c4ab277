//! Outbound webhook calls: one request per try, signed with Standard Webhooks when the activity
//! has a secret, an `Idempotency-Key` (also the `webhook-id`), a per-try timeout, no redirects,
//! and the SSRF guard on every address. Only a 2xx answer is success.

pub mod guard;
pub mod signing;

use crate::domain::process::{Completion, HttpMethod, SecretRef};
use crate::domain::release::{CallOutcome, WebhookCall};
use guard::{AddressPolicy, GuardedResolver};
use signing::Secret;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct WebhookClient {
    http: reqwest::Client,
    policy: Arc<AddressPolicy>,
}

/// Reads the secret a process refers to. Errors name the reference, never the value.
pub fn resolve_secret(reference: &SecretRef) -> Result<Secret, String> {
    let text = match reference {
        SecretRef::Env(name) => std::env::var(name).map_err(|_| format!("the secret {reference} is not set"))?,
        SecretRef::File(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read the secret {reference}: {}", e.kind()))?,
    };
    Secret::parse(&text).map_err(|e| format!("the secret {reference} is not valid: {e}"))
}

/// Statuses whose `Retry-After` is honoured.
const RETRY_AFTER_STATUSES: [u16; 4] = [429, 502, 503, 504];

impl WebhookClient {
    pub fn new(policy: AddressPolicy) -> anyhow::Result<Self> {
        let policy = Arc::new(policy);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Trainmaster/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .dns_resolver(Arc::new(GuardedResolver { policy: policy.clone() }))
            .build()?;
        Ok(Self { http, policy })
    }

    /// Refuses URLs that are not http(s), and IP literals in guarded ranges (they never reach
    /// the resolver). `0x7f000001` and `2130706433` are normalised to 127.0.0.1 by URL parsing.
    fn check_url(&self, raw: &str) -> Result<reqwest::Url, String> {
        let url = reqwest::Url::parse(raw).map_err(|e| format!("`{raw}` is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("`{raw}` is not an http or https URL"));
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(v4)) => Some(std::net::IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(std::net::IpAddr::V6(v6)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(format!("`{raw}` has no host")),
        };
        if let Some(ip) = ip {
            if let Some(why) = self.policy.refusal(url.host_str().unwrap_or_default(), ip) {
                return Err(why);
            }
        }
        Ok(url)
    }

    /// Performs one try. Every failure becomes a reason a person can act on; secrets never
    /// appear in it.
    #[tracing::instrument(skip(self, call), fields(url = %call.url, attempt = call.attempt))]
    pub async fn call(&self, key: &str, call: &WebhookCall) -> CallOutcome {
        let url = match self.check_url(&call.url) {
            Ok(url) => url,
            Err(why) => return CallOutcome::failure(why),
        };
        let body = match call.method {
            HttpMethod::Get => Vec::new(),
            _ => call.payload.to_string().into_bytes(),
        };
        let timeout = Duration::from_secs(call.timeout_secs.max(1));
        let method = reqwest::Method::from_bytes(call.method.as_str().as_bytes()).unwrap_or(reqwest::Method::POST);
        let mut request = self.http.request(method, url).timeout(timeout).header("Idempotency-Key", key);
        for (name, value) in &call.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if !body.is_empty() {
            request = request.header("content-type", "application/json");
        }
        if let Some(reference) = &call.secret {
            let secret = match resolve_secret(reference) {
                Ok(s) => s,
                Err(why) => return CallOutcome::failure(why),
            };
            let now = chrono::Utc::now().timestamp();
            request = request
                .header(signing::ID_HEADER, key)
                .header(signing::TIMESTAMP_HEADER, now.to_string())
                .header(signing::SIGNATURE_HEADER, secret.sign(key, now, &body));
        }
        let response = match request.body(body).send().await {
            Ok(r) => r,
            Err(e) => return CallOutcome::failure(describe(&e, &call.url, timeout)),
        };
        let status = response.status();
        if status.is_success() {
            // With callback completion the outputs come with the callback, not this answer.
            if call.completion == Completion::Callback {
                return CallOutcome::Accepted;
            }
            let text = response.text().await.unwrap_or_default();
            return match outputs_from_answer(&call.outputs, &text) {
                Err(why) => CallOutcome::failure(why),
                Ok(outputs) => CallOutcome::Success { outputs },
            };
        }
        let retry_after_secs = if RETRY_AFTER_STATUSES.contains(&status.as_u16()) {
            response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after)
        } else {
            None
        };
        let location = response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).map(String::from);
        let text = response.text().await.unwrap_or_default();
        let mut reason = format!("HTTP {status}");
        if status.is_redirection() {
            reason
                .push_str(&format!(" (redirects are not followed{})", location.map(|l| format!("; it points to {l}")).unwrap_or_default()));
        }
        let excerpt: String = text.trim().chars().take(200).collect();
        if !excerpt.is_empty() {
            reason.push_str(&format!(": {excerpt}"));
        }
        CallOutcome::Failure { reason, retry_after_secs }
    }
}

impl WebhookClient {
    /// One look of a `check` activity: GET its URL and read the answer as JSON. Any failure
    /// (guard, network, status, not JSON) is a reason; the gate simply looks again later.
    #[tracing::instrument(skip(self, poll), fields(url = %poll.url, look = poll.poll))]
    pub async fn poll(&self, key: &str, poll: &crate::domain::release::Poll) -> Result<serde_json::Value, String> {
        let url = self.check_url(&poll.url)?;
        let timeout = Duration::from_secs(30);
        let mut request = self.http.get(url).timeout(timeout).header("Idempotency-Key", key);
        for (name, value) in &poll.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request.send().await.map_err(|e| describe(&e, &poll.url, timeout))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        let text = response.text().await.map_err(|e| format!("the answer could not be read: {e}"))?;
        if text.len() > 1024 * 1024 {
            return Err(format!("the answer is {} bytes; checks read at most 1 MiB", text.len()));
        }
        serde_json::from_str(&text).map_err(|e| format!("the answer is not JSON ({e})"))
    }
}

fn describe(e: &reqwest::Error, url: &str, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {}s", timeout.as_secs());
    }
    // The guard's refusal travels inside the connect error; show the innermost cause.
    let mut cause: &dyn std::error::Error = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    if e.is_connect() {
        format!("cannot connect to {url}: {cause}")
    } else {
        format!("request to {url} failed: {cause}")
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<u64> {
    if let Ok(secs) = value.trim().parse::<u64>() {
        return Some(secs);
    }
    let when = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
    Some((when.timestamp() - chrono::Utc::now().timestamp()).max(0) as u64)
}

/// Outputs from a webhook's answer text; the answer need only be JSON when outputs are mapped.
fn outputs_from_answer(
    mapping: &std::collections::BTreeMap<String, String>,
    text: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    if mapping.is_empty() {
        return Ok(serde_json::Map::new());
    }
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("the answer is not JSON ({e}), so outputs cannot be read"))?;
    extract_outputs(mapping, &json)
}

/// Takes each mapped output (`name: dotted.path`) from a JSON value.
pub fn extract_outputs(
    mapping: &std::collections::BTreeMap<String, String>,
    json: &serde_json::Value,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let mut outputs = serde_json::Map::new();
    for (name, path) in mapping {
        let pointer = format!("/{}", path.split('.').collect::<Vec<_>>().join("/"));
        let value = json.pointer(&pointer).ok_or_else(|| format!("the answer has no `{path}` for output `{name}`"))?;
        outputs.insert(name.clone(), value.clone());
    }
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("120"), Some(120));
        assert_eq!(parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn outputs_are_read_by_dotted_path() {
        let mapping = [("url".to_string(), "artifact.url".to_string())].into();
        let out = outputs_from_answer(&mapping, r#"{"artifact": {"url": "https://x/a.tgz"}}"#);
        assert_eq!(out.ok().and_then(|o| o.get("url").cloned()), Some(serde_json::json!("https://x/a.tgz")));
        assert!(outputs_from_answer(&mapping, "{}").is_err_and(|e| e.contains("artifact.url")));
        assert!(outputs_from_answer(&mapping, "<html>").is_err());
        assert_eq!(outputs_from_answer(&Default::default(), "<html>"), Ok(serde_json::Map::new()));
    }
}
