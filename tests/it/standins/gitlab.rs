//! GitLab CI, as documented at docs.gitlab.com/api/pipeline_triggers and /api/pipelines:
//! - `POST /api/v4/projects/{id}/trigger/pipeline` takes `token`, `ref` and `variables` (form
//!   fields or a JSON body) and answers **201** with the pipeline (`id`, `status: created`,
//!   `web_url`); a wrong trigger token is 404 `{"message": "404 Not Found"}`, no `ref` is 400.
//! - `GET /api/v4/projects/{id}/pipelines/{pipeline_id}` needs a `PRIVATE-TOKEN` header (401
//!   otherwise); `status` goes created → pending → running → success or failed.

use super::{Outcome, Running, Tool};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;

pub const TRIGGER_TOKEN: &str = "glptt-standin0123456789";
pub const READ_TOKEN: &str = "glpat-standin0123456789";

#[derive(Default)]
pub struct Pipelines {
    reads: Vec<u32>,
}

pub async fn start(outcome: Outcome) -> anyhow::Result<Running<Pipelines>> {
    Running::start(outcome, |tool| {
        Router::new()
            .route("/api/v4/projects/{project}/trigger/pipeline", post(trigger))
            .route("/api/v4/projects/{project}/pipelines/{id}", get(pipeline))
            .with_state(tool)
    })
    .await
}

type Gl = State<Arc<Tool<Pipelines>>>;

fn pipeline_json(tool: &Tool<Pipelines>, project: &str, id: usize, status: &str) -> Value {
    json!({
        "id": id,
        "iid": id,
        "project_id": project,
        "ref": "main",
        "status": status,
        "source": "trigger",
        "web_url": format!("https://gitlab.example.com/group/app/-/pipelines/{id}"),
        "detailed_status": {"text": status, "group": status},
        "_standin": tool.base,
    })
}

/// The trigger's parameters, from a JSON body or form fields (`variables[KEY]=value`).
fn parameters(headers: &HeaderMap, body: &[u8]) -> Value {
    let json = headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|c| c.starts_with("application/json"));
    if json {
        return serde_json::from_slice(body).unwrap_or(Value::Null);
    }
    let mut out = json!({"variables": {}});
    for (key, value) in url::form_urlencoded::parse(body) {
        match key.strip_prefix("variables[").and_then(|k| k.strip_suffix(']')) {
            Some(var) => out["variables"][var] = json!(value),
            None => out[key.as_ref()] = json!(value),
        }
    }
    out
}

async fn trigger(State(tool): Gl, Path(project): Path<String>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    tool.record(&method, &uri, &headers, &body);
    let params = parameters(&headers, &body);
    if params["token"].as_str() != Some(TRIGGER_TOKEN) {
        return (StatusCode::NOT_FOUND, Json(json!({"message": "404 Not Found"}))).into_response();
    }
    if params["ref"].as_str().is_none_or(str::is_empty) {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "ref is missing"}))).into_response();
    }
    let id = tool.with_state(|s| {
        s.reads.push(0);
        s.reads.len()
    });
    (StatusCode::CREATED, Json(pipeline_json(&tool, &project, id, "created"))).into_response()
}

async fn pipeline(State(tool): Gl, Path((project, id)): Path<(String, usize)>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    tool.record(&method, &uri, &headers, &[]);
    if headers.get("private-token").and_then(|v| v.to_str().ok()) != Some(READ_TOKEN) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"message": "401 Unauthorized"}))).into_response();
    }
    let reads = tool.with_state(|s| {
        let reads = s.reads.get_mut(id.wrapping_sub(1))?;
        *reads += 1;
        Some(*reads)
    });
    let status = match reads {
        None => return (StatusCode::NOT_FOUND, Json(json!({"message": "404 Not found"}))).into_response(),
        Some(1) => "pending",
        Some(2) => "running",
        Some(_) if tool.outcome == Outcome::Succeeds => "success",
        Some(_) => "failed",
    };
    Json(pipeline_json(&tool, &project, id, status)).into_response()
}
