//! Local stand-ins for the tools the recipes drive: small axum apps on 127.0.0.1 modelled on each
//! tool's documented REST API (paths, status codes, headers, the fields the recipes read), not on
//! what Trainmaster sends. Each one checks credentials the way the tool does, keeps its runs in
//! memory, moves a run one state further each time it is read, and records every request.

pub mod argocd;
pub mod github;
pub mod gitlab;
pub mod jenkins;

use axum::http::{HeaderMap, Method, Uri};
use std::sync::{Arc, Mutex};

/// How the stand-in's run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeds,
    Fails,
}

/// One request a stand-in received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// State every stand-in shares: its base URL, what it saw, and its own run state `S`.
pub struct Tool<S> {
    pub base: String,
    pub seen: Mutex<Vec<Seen>>,
    pub state: Mutex<S>,
    pub outcome: Outcome,
}

impl<S> Tool<S> {
    pub fn record(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) {
        let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string())).collect();
        let target = uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
        let seen = Seen { method: method.to_string(), target, headers, body: String::from_utf8_lossy(body).into_owned() };
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).push(seen);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn with_state<T>(&self, f: impl FnOnce(&mut S) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// A running stand-in; the server stops when it is dropped.
pub struct Running<S> {
    pub tool: Arc<Tool<S>>,
    server: tokio::task::JoinHandle<()>,
}

impl<S> Drop for Running<S> {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl<S: Send + 'static + Default> Running<S> {
    /// Binds 127.0.0.1, then builds the app with the tool (which knows its own base URL).
    pub async fn start(outcome: Outcome, app: impl FnOnce(Arc<Tool<S>>) -> axum::Router) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let tool = Arc::new(Tool { base, seen: Mutex::new(vec![]), state: Mutex::new(S::default()), outcome });
        let router = app(tool.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self { tool, server })
    }
}
