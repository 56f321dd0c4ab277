//! Outbound webhook calls: one request per try, signed with Standard Webhooks when the activity
//! has a secret, an `Idempotency-Key` (also the `webhook-id`; one per run, the same across its
//! automatic retries) with the try's number in `Trainmaster-Attempt`, a per-try timeout, no
//! redirects, and the SSRF guard on every address. Only a 2xx answer is success.

pub mod guard;
pub mod request;
pub mod signing;

use crate::domain::process::{Completion, HttpMethod, SecretRef};
use crate::domain::release::{Answer, CallOutcome, Look, Poll, WebhookCall};
use crate::domain::secrets;
use guard::{AddressPolicy, GuardedResolver};
use signing::Secret;
use std::sync::Arc;
use std::time::Duration;

/// The header that carries the try's number: the idempotency key stays the same across a run's
/// automatic retries, so receivers that care which try this is read it here.
pub const ATTEMPT_HEADER: &str = "Trainmaster-Attempt";

#[derive(Clone, Debug)]
pub struct WebhookClient {
    http: reqwest::Client,
    policy: Arc<AddressPolicy>,
    /// Set when requests go out through an explicit `webhook_proxy`: the proxy resolves names,
    /// so the guard checks each target's addresses itself before sending.
    proxied: bool,
}

/// Reads the signing secret a process refers to. Errors name the reference, never the value.
pub fn resolve_secret(reference: &SecretRef) -> Result<Secret, String> {
    let text = request::read_secret(reference)?;
    Secret::parse(&text).map_err(|e| format!("the secret {reference} is not valid: {e}"))
}

/// Statuses whose `Retry-After` is honoured.
const RETRY_AFTER_STATUSES: [u16; 5] = [202, 429, 502, 503, 504];

/// Answers read at most this much: a poll or an answer mapped to outputs is JSON, not a download.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

impl WebhookClient {
    /// A client that never follows redirects and checks every address it connects to. Proxy
    /// settings in the environment (`HTTP_PROXY`, `ALL_PROXY`…) are ignored: through a proxy the
    /// bot never resolves a target's name, so the guard could not see where a request goes.
    /// `proxy` (the `webhook_proxy` setting) names one explicitly; targets are then checked
    /// before each request.
    pub fn new(policy: AddressPolicy, proxy: Option<&str>) -> anyhow::Result<Self> {
        // Through a proxy the resolver only ever sees the proxy's own name, which the operator
        // named and which is usually internal: it is allowed there, and targets are checked
        // against `policy` alone, before each request.
        let mut connect_policy = policy.clone();
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Trainmaster/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .no_proxy();
        if let Some(proxy) = proxy {
            let url = url::Url::parse(proxy).map_err(|e| anyhow::anyhow!("webhook_proxy `{proxy}` is not a URL: {e}"))?;
            let host = url.host_str().ok_or_else(|| anyhow::anyhow!("webhook_proxy `{proxy}` has no host"))?;
            let rule = host.parse::<guard::AllowRule>().map_err(|e| anyhow::anyhow!("webhook_proxy `{proxy}`: {e}"))?;
            connect_policy.allow.push(rule);
            builder = builder.proxy(reqwest::Proxy::all(proxy).map_err(|e| anyhow::anyhow!("webhook_proxy `{proxy}` is not usable: {e}"))?);
        }
        let builder = builder.dns_resolver(Arc::new(GuardedResolver { policy: Arc::new(connect_policy) }));
        Ok(Self { http: builder.build()?, policy: Arc::new(policy), proxied: proxy.is_some() })
    }

    /// Refuses URLs that are not http(s), and IP literals in guarded ranges (they never reach
    /// the resolver). `0x7f000001` and `2130706433` are normalised to 127.0.0.1 by URL parsing.
    /// Through a proxy, names are resolved and checked here too.
    async fn check_url(&self, raw: &str) -> Result<reqwest::Url, String> {
        let url = reqwest::Url::parse(raw).map_err(|e| format!("`{raw}` is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("`{raw}` is not an http or https URL"));
        }
        let host = url.host_str().unwrap_or_default().to_string();
        let ip = match url.host() {
            Some(url::Host::Ipv4(v4)) => Some(std::net::IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(std::net::IpAddr::V6(v6)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(format!("`{raw}` has no host")),
        };
        match ip {
            Some(ip) => {
                if let Some(why) = self.policy.refusal(&host, ip) {
                    return Err(why);
                }
            }
            None if self.proxied => guard::check_name(&self.policy, &host).await?,
            None => {}
        }
        Ok(url)
    }

    /// Performs one try. Every failure becomes a reason a person can act on; secrets never
    /// appear in it.
    #[tracing::instrument(skip(self, call), fields(url = %call.url, attempt = call.attempt))]
    pub async fn call(&self, outbox_key: &str, call: &WebhookCall) -> CallOutcome {
        // Rows queued before keys were per run carry none: their outbox key was the key.
        let key = if call.key.is_empty() { outbox_key } else { call.key.as_str() };
        let has_body = call.method != HttpMethod::Get;
        let revealed = match request::reveal(
            &call.secrets,
            &call.url,
            &call.query,
            &call.headers,
            call.auth.as_ref(),
            has_body.then_some(&call.payload),
        ) {
            Ok(r) => r,
            Err(why) => return CallOutcome::failure(why),
        };
        let redact = |text: &str| secrets::redact(text, &revealed.values);
        let url = match self.check_url(&revealed.url).await {
            Ok(url) => url,
            Err(why) => return CallOutcome::failure(redact(&why)),
        };
        let body = if has_body {
            let payload = match request::reveal_json(&call.payload, &revealed.values) {
                Ok(p) => p,
                Err(why) => return CallOutcome::failure(why),
            };
            match request::encode_body(&payload, call.raw, call.content_type.as_deref()) {
                Ok(body) => body,
                Err(why) => return CallOutcome::failure(why),
            }
        } else {
            None
        };
        let timeout = Duration::from_secs(call.timeout_secs.max(1));
        let method = reqwest::Method::from_bytes(call.method.as_str().as_bytes()).unwrap_or(reqwest::Method::POST);
        let request =
            self.http.request(method, url).timeout(timeout).header("Idempotency-Key", key).header(ATTEMPT_HEADER, call.attempt.to_string());
        let mut request = revealed.apply(request);
        let body = match body {
            Some((bytes, content_type)) => {
                request = request.header(reqwest::header::CONTENT_TYPE, content_type);
                bytes
            }
            None => Vec::new(),
        };
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
            Err(e) => return CallOutcome::failure(redact(&describe(&e, &call.url, timeout))),
        };
        let status = response.status();
        if status.is_success() {
            // With callback completion the outputs come with the callback, not this answer.
            if call.completion == Completion::Callback {
                return CallOutcome::Accepted;
            }
            let headers = header_map(response.headers());
            let text = read_text(response).await;
            let outputs = match outputs_from_answer(&call.outputs, &text) {
                Err(why) => return CallOutcome::failure(redact(&why)),
                Ok(outputs) => outputs,
            };
            let answer = call.follow.then(|| answer_json(status.as_u16(), headers, &text));
            return CallOutcome::Success { outputs, answer };
        }
        let retry_after_secs = retry_after(status.as_u16(), response.headers());
        let location = response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).map(String::from);
        let text = read_text(response).await;
        let mut reason = format!("HTTP {status}");
        if status.is_redirection() {
            reason
                .push_str(&format!(" (redirects are not followed{})", location.map(|l| format!("; it points to {l}")).unwrap_or_default()));
        }
        let excerpt: String = text.trim().chars().take(200).collect();
        if !excerpt.is_empty() {
            reason.push_str(&format!(": {excerpt}"));
        }
        CallOutcome::Failure { reason: redact(&reason), retry_after_secs }
    }
}

impl WebhookClient {
    /// One look of a `check` activity or of a webhook's poll: GET its URL and read the answer
    /// as JSON (`{}` when empty). Any failure (guard, network, status, not JSON) is a reason;
    /// the poll simply looks again later.
    #[tracing::instrument(skip(self, poll), fields(url = %poll.url, look = poll.poll))]
    pub async fn poll(&self, key: &str, poll: &Poll) -> Result<Look, String> {
        let revealed = request::reveal(&poll.secrets, &poll.url, &[], &poll.headers, poll.auth.as_ref(), None)?;
        let redact = |text: &str| secrets::redact(text, &revealed.values);
        let url = self.check_url(&revealed.url).await.map_err(|e| redact(&e))?;
        let timeout = Duration::from_secs(30);
        let request = revealed.apply(self.http.get(url).timeout(timeout).header("Idempotency-Key", key));
        let response = request.send().await.map_err(|e| redact(&describe(&e, &poll.url, timeout)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        let retry_after_secs = retry_after(status.as_u16(), response.headers());
        let text = response.text().await.map_err(|e| format!("the answer could not be read: {e}"))?;
        if text.len() > MAX_ANSWER_BYTES {
            return Err(format!("the answer is {} bytes; polls read at most 1 MiB", text.len()));
        }
        let json = if text.trim().is_empty() {
            serde_json::json!({})
        } else {
            serde_json::from_str(&text).map_err(|e| format!("the answer is not JSON ({e})"))?
        };
        Ok(Look { status: status.as_u16(), json, retry_after_secs })
    }
}

/// Response headers by lowercase name (the last of repeated ones), for templates.
fn header_map(headers: &reqwest::header::HeaderMap) -> serde_json::Map<String, serde_json::Value> {
    headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), serde_json::Value::String(v.to_str().ok()?.to_string()))))
        .collect()
}

/// The answer polls are rendered over: the JSON body's fields, `headers` and `status_code`.
fn answer_json(status: u16, headers: serde_json::Map<String, serde_json::Value>, text: &str) -> Answer {
    let mut answer = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => map,
        Ok(other) => [("body".to_string(), other)].into_iter().collect(),
        Err(_) => serde_json::Map::new(),
    };
    answer.insert("headers".into(), serde_json::Value::Object(headers));
    answer.insert("status_code".into(), status.into());
    serde_json::Value::Object(answer)
}

async fn read_text(response: reqwest::Response) -> String {
    let text = response.text().await.unwrap_or_default();
    text.chars().take(MAX_ANSWER_BYTES).collect()
}

fn retry_after(status: u16, headers: &reqwest::header::HeaderMap) -> Option<u64> {
    if !RETRY_AFTER_STATUSES.contains(&status) {
        return None;
    }
    headers.get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after)
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
