//! Jenkins, as documented at jenkins.io (Remote access API):
//! - `POST /job/{name}/buildWithParameters?NAME=value` with HTTP basic auth (user and API
//!   token; no CSRF crumb is needed with a token) answers **201 Created** with an empty body
//!   and `Location: {base}/queue/item/{n}/`; without credentials, 403.
//! - `GET /queue/item/{n}/api/json` is a waiting item (`why`, no `executable`) until the
//!   build starts, then has `executable: {number, url}`.
//! - `GET /job/{name}/{number}/api/json`: `building` true, then false with `result` SUCCESS or
//!   FAILURE; `url` is the build's page.

use super::{Outcome, Running, Tool};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::json;
use std::sync::Arc;

pub const USER: &str = "release-bot";
pub const API_TOKEN: &str = "11standin0123456789abcdef";

#[derive(Default)]
pub struct Queue {
    /// Per queue item: how often it was read, and its build's reads.
    items: Vec<(u32, u32)>,
}

pub async fn start(outcome: Outcome) -> anyhow::Result<Running<Queue>> {
    Running::start(outcome, |tool| {
        Router::new()
            .route("/job/{job}/buildWithParameters", post(build))
            .route("/queue/item/{n}/api/json", get(item))
            .route("/job/{job}/{number}/api/json", get(status))
            .with_state(tool)
    })
    .await
}

type Jk = State<Arc<Tool<Queue>>>;

fn forbidden(headers: &HeaderMap) -> Option<Response> {
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{API_TOKEN}")));
    let ok = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(expected.as_str());
    (!ok).then(|| (StatusCode::FORBIDDEN, "Authentication required").into_response())
}

async fn build(State(tool): Jk, Path(_job): Path<String>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    tool.record(&method, &uri, &headers, &body);
    if let Some(refused) = forbidden(&headers) {
        return refused;
    }
    let n = tool.with_state(|q| {
        q.items.push((0, 0));
        q.items.len()
    });
    (StatusCode::CREATED, [(header::LOCATION, format!("{}/queue/item/{n}/", tool.base))]).into_response()
}

async fn item(State(tool): Jk, Path(n): Path<usize>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    tool.record(&method, &uri, &headers, &[]);
    if let Some(refused) = forbidden(&headers) {
        return refused;
    }
    let reads = tool.with_state(|q| {
        let item = q.items.get_mut(n.wrapping_sub(1))?;
        item.0 += 1;
        Some(item.0)
    });
    match reads {
        None => (StatusCode::NOT_FOUND, "Not Found").into_response(),
        Some(1) => Json(json!({"_class": "hudson.model.Queue$WaitingItem", "id": n, "why": "In the quiet period.", "blocked": false}))
            .into_response(),
        Some(_) => Json(json!({
            "_class": "hudson.model.Queue$LeftItem",
            "id": n,
            "cancelled": false,
            "executable": {"_class": "hudson.model.FreeStyleBuild", "number": n, "url": format!("{}/job/app/{n}/", tool.base)},
        }))
        .into_response(),
    }
}

async fn status(State(tool): Jk, Path((job, number)): Path<(String, usize)>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    tool.record(&method, &uri, &headers, &[]);
    if let Some(refused) = forbidden(&headers) {
        return refused;
    }
    let reads = tool.with_state(|q| {
        let item = q.items.get_mut(number.wrapping_sub(1))?;
        item.1 += 1;
        Some(item.1)
    });
    let url = format!("{}/job/{job}/{number}/", tool.base);
    match reads {
        None => (StatusCode::NOT_FOUND, "Not Found").into_response(),
        Some(1) => Json(json!({"number": number, "building": true, "result": null, "url": url})).into_response(),
        Some(_) => {
            let result = if tool.outcome == Outcome::Succeeds { "SUCCESS" } else { "FAILURE" };
            Json(json!({"number": number, "building": false, "result": result, "url": url})).into_response()
        }
    }
}
