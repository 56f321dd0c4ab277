//! Argo CD, as documented in its API (argo-cd.readthedocs.io, the Swagger of `/api/v1`):
//! - `POST /api/v1/applications/{name}/sync` with `Authorization: Bearer <token>` and a
//!   `{"revision", "prune"}` body answers 200 with the Application, its operation started; 401
//!   `no session information` without a valid token.
//! - `GET /api/v1/applications/{name}`: `status.operationState.phase` Running → Succeeded (or
//!   Failed with a `message`), `status.health.status` Progressing → Healthy (or Degraded),
//!   `status.sync.revision` the synced revision.

use super::{Outcome, Running, Tool};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;

pub const TOKEN: &str = "argocd-standin-0123456789";

#[derive(Default)]
pub struct App {
    revision: String,
    reads: u32,
    syncing: bool,
}

pub async fn start(outcome: Outcome) -> anyhow::Result<Running<App>> {
    Running::start(outcome, |tool| {
        Router::new().route("/api/v1/applications/{name}/sync", post(sync)).route("/api/v1/applications/{name}", get(app)).with_state(tool)
    })
    .await
}

type Argo = State<Arc<Tool<App>>>;

fn unauthenticated(headers: &HeaderMap) -> Option<Response> {
    let ok = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(format!("Bearer {TOKEN}").as_str());
    (!ok).then(|| {
        let body = json!({"error": "no session information", "code": 16, "message": "no session information"});
        (StatusCode::UNAUTHORIZED, Json(body)).into_response()
    })
}

fn application(name: &str, app: &App, outcome: Outcome) -> Value {
    let (phase, health, message) = match (app.syncing, app.reads, outcome) {
        (false, _, _) => ("Succeeded", "Healthy", "successfully synced (all tasks run)"),
        (true, 0 | 1, _) => ("Running", "Progressing", "waiting for completion of hook batch/Job/migrate"),
        (true, _, Outcome::Succeeds) => ("Succeeded", "Healthy", "successfully synced (all tasks run)"),
        (true, _, Outcome::Fails) => {
            ("Failed", "Degraded", "one or more objects failed to apply, reason: Deployment.apps \"web\" is invalid")
        }
    };
    json!({
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {"source": {"repoURL": "https://git.example.com/deploy.git", "targetRevision": "HEAD"}},
        "status": {
            "sync": {"status": "Synced", "revision": app.revision},
            "health": {"status": health},
            "operationState": {"phase": phase, "message": message, "syncResult": {"revision": app.revision}},
        },
    })
}

async fn sync(State(tool): Argo, Path(name): Path<String>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    tool.record(&method, &uri, &headers, &body);
    if let Some(refused) = unauthenticated(&headers) {
        return refused;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let app = tool.with_state(|app| {
        app.revision = request["revision"].as_str().unwrap_or("HEAD").to_string();
        app.reads = 0;
        app.syncing = true;
        application(&name, app, tool.outcome)
    });
    Json(app).into_response()
}

async fn app(State(tool): Argo, Path(name): Path<String>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    tool.record(&method, &uri, &headers, &[]);
    if let Some(refused) = unauthenticated(&headers) {
        return refused;
    }
    let app = tool.with_state(|app| {
        app.reads += 1;
        application(&name, app, tool.outcome)
    });
    Json(app).into_response()
}
