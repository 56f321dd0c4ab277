//! GitHub Actions, as documented at docs.github.com/rest/actions:
//! - `POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches` with a token and
//!   `{"ref", "inputs"}` answers **204 No Content**, with no run id; 401 `Bad credentials`
//!   without a valid token; 422 without `ref`.
//! - `GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs?event=workflow_dispatch`
//!   lists runs newest first (`total_count`, `workflow_runs`); a dispatched run appears a moment
//!   later (here: from the second listing on). Its `display_title` is the workflow's `run-name`,
//!   which the recipe's workflow sets to `Deploy <version> · <trainmaster_run>`.
//! - `GET /repos/{owner}/{repo}/actions/runs/{run_id}`: `status` queued → in_progress →
//!   completed, then `conclusion` success or failure; `url` (API) and `html_url` (the page).

use super::{Outcome, Running, Tool};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;

pub const TOKEN: &str = "ghp_standin0123456789abcdef";

#[derive(Default)]
pub struct Runs {
    runs: Vec<Run>,
    listings: u32,
}

struct Run {
    id: u64,
    display_title: String,
    reads: u32,
    listed_after: u32,
}

pub async fn start(outcome: Outcome) -> anyhow::Result<Running<Runs>> {
    Running::start(outcome, |tool| {
        Router::new()
            .route("/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches", post(dispatch))
            .route("/repos/{owner}/{repo}/actions/workflows/{workflow}/runs", get(list))
            .route("/repos/{owner}/{repo}/actions/runs/{id}", get(run))
            .with_state(tool)
    })
    .await
}

type Gh = State<Arc<Tool<Runs>>>;

fn unauthorized(headers: &HeaderMap) -> Option<Response> {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let ok = auth == format!("Bearer {TOKEN}") || auth == format!("token {TOKEN}");
    (!ok).then(|| {
        let body = json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"});
        (StatusCode::UNAUTHORIZED, Json(body)).into_response()
    })
}

async fn dispatch(State(tool): Gh, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    tool.record(&method, &uri, &headers, &body);
    if let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"message": "Problems parsing JSON"}))).into_response();
    };
    if request["ref"].as_str().is_none_or(str::is_empty) {
        let body = json!({"message": "Invalid request.\n\n\"ref\" wasn't supplied.", "status": "422"});
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
    }
    let inputs = &request["inputs"];
    let title = format!("Deploy {} · {}", inputs["version"].as_str().unwrap_or("?"), inputs["trainmaster_run"].as_str().unwrap_or(""));
    tool.with_state(|s| {
        let id = 9_000 + s.runs.len() as u64;
        let listed_after = s.listings + 1;
        s.runs.push(Run { id, display_title: title, reads: 0, listed_after });
    });
    StatusCode::NO_CONTENT.into_response()
}

fn run_json(tool: &Tool<Runs>, owner: &str, repo: &str, run: &Run) -> Value {
    let (status, conclusion) = match run.reads {
        0 => ("queued", Value::Null),
        1 => ("in_progress", Value::Null),
        _ => ("completed", json!(if tool.outcome == Outcome::Succeeds { "success" } else { "failure" })),
    };
    json!({
        "id": run.id,
        "name": "deploy",
        "display_title": run.display_title,
        "event": "workflow_dispatch",
        "status": status,
        "conclusion": conclusion,
        "run_number": run.id - 8_999,
        "url": format!("{}/repos/{owner}/{repo}/actions/runs/{}", tool.base, run.id),
        "html_url": format!("https://github.com/{owner}/{repo}/actions/runs/{}", run.id),
    })
}

async fn list(
    State(tool): Gh,
    Path((owner, repo, _)): Path<(String, String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    tool.record(&method, &uri, &headers, &[]);
    if let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    let runs: Vec<Value> = tool.with_state(|s| {
        s.listings += 1;
        let listing = s.listings;
        s.runs.iter().rev().filter(|r| r.listed_after < listing).map(|r| run_json(&tool, &owner, &repo, r)).collect()
    });
    Json(json!({"total_count": runs.len(), "workflow_runs": runs})).into_response()
}

async fn run(
    State(tool): Gh,
    Path((owner, repo, id)): Path<(String, String, u64)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    tool.record(&method, &uri, &headers, &[]);
    if let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    let found = tool.with_state(|s| {
        let run = s.runs.iter_mut().find(|r| r.id == id)?;
        let json = run_json(&tool, &owner, &repo, run);
        run.reads += 1;
        Some(json)
    });
    match found {
        Some(json) => Json(json).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"message": "Not Found"}))).into_response(),
    }
}
