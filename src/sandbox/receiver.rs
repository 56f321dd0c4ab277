//! A local webhook receiver for tests and the demo: records each call and answers as scripted
//! (a status, or hanging past the caller's timeout).

use anyhow::{anyhow, Context as _};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Router;
use serde_json::Value;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How the receiver answers one call.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Status(u16),
    /// Never answer within `Duration`.
    Hang(Duration),
    /// A status with a `Retry-After` in seconds.
    RetryAfter(u16, u64),
    /// `302 Found` to this location.
    Redirect(String),
    /// 200 with this JSON body.
    Json(Value),
    /// This status with this text body (an error page, or an answer that echoes the request).
    Text(u16, String),
}

#[derive(Debug, Clone)]
pub struct ReceivedCall {
    pub method: String,
    pub path: String,
    /// The query string as sent, if any.
    pub query: Option<String>,
    pub idempotency_key: Option<String>,
    /// The try's number (`Trainmaster-Attempt`): keys are per run, tries are counted here.
    pub attempt: Option<u32>,
    /// Every header, names lowercased.
    pub headers: std::collections::BTreeMap<String, String>,
    /// The body exactly as received, for signature checks.
    pub raw_body: Vec<u8>,
    pub body: Value,
    /// When it arrived, for latency benchmarks.
    pub at: std::time::Instant,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Answer>,
    /// The answer once the script is used up (200 at once when `None`).
    default: Option<Answer>,
    calls: Vec<ReceivedCall>,
}

struct Shared {
    inner: Mutex<Inner>,
    version: watch::Sender<u64>,
}

pub struct WebhookReceiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl WebhookReceiver {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("cannot bind the webhook receiver")?;
        let addr = listener.local_addr()?;
        let (version, _) = watch::channel(0);
        let shared = Arc::new(Shared { inner: Mutex::new(Inner::default()), version });
        let app = Router::new().fallback(receive).with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, shared, server })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Answers the next calls in this order; after the script runs out, 200.
    pub fn script(&self, answers: &[Answer]) {
        let mut inner = self.shared.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.script.extend(answers.iter().cloned());
    }

    /// Answers every call after the script this way, e.g. `Hang(20ms)` for a slow receiver.
    pub fn answer_by_default(&self, answer: Answer) {
        self.shared.inner.lock().unwrap_or_else(|p| p.into_inner()).default = Some(answer);
    }

    pub fn calls(&self) -> Vec<ReceivedCall> {
        self.shared.inner.lock().unwrap_or_else(|p| p.into_inner()).calls.clone()
    }

    /// How many calls arrived, without copying them (the benchmark polls this).
    pub fn call_count(&self) -> usize {
        self.shared.inner.lock().unwrap_or_else(|p| p.into_inner()).calls.len()
    }

    /// Waits until at least `n` calls arrived.
    pub async fn wait_for_calls(&self, n: usize) -> anyhow::Result<Vec<ReceivedCall>> {
        let what = format!("{n} webhook calls");
        super::wait_until(&self.shared.version, &what, || (self.call_count() >= n).then(|| self.calls()))
            .await
            .map_err(|e| anyhow!("{e}; got {}", self.call_count()))
    }
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let answer = {
        let mut inner = shared.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.calls.push(ReceivedCall {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().map(String::from),
            idempotency_key: headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(String::from),
            attempt: headers.get("trainmaster-attempt").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()),
            headers: headers.iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string())).collect(),
            raw_body: body.to_vec(),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            at: std::time::Instant::now(),
        });
        let default = inner.default.clone().unwrap_or(Answer::Status(200));
        inner.script.pop_front().unwrap_or(default)
    };
    shared.version.send_modify(|v| *v += 1);
    match answer {
        Answer::Status(code) => StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR).into_response(),
        Answer::Hang(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK.into_response()
        }
        Answer::RetryAfter(code, secs) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            (status, [(axum::http::header::RETRY_AFTER, secs.to_string())]).into_response()
        }
        Answer::Redirect(location) => (StatusCode::FOUND, [(axum::http::header::LOCATION, location)]).into_response(),
        Answer::Json(value) => axum::Json(value).into_response(),
        Answer::Text(code, text) => (StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), text).into_response(),
    }
}
