//! The HTTP face of the bot (axum): signed activity callbacks, release triggers from CI, a
//! status API for pipelines, health and Prometheus metrics. Every refusal is a 4xx with a reason
//! in JSON (`{"error": "..."}`).

use crate::domain::release::{Release, ReleaseId};
use crate::engine::{CallbackError, Engine, EngineError, SignedHeaders, TriggerError};
use crate::webhook::signing::{Secret, ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;

/// Request bodies above this are refused with 413.
pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(Clone)]
pub struct HttpState {
    pub engine: Engine,
    pub trigger_secret: Option<Secret>,
    pub api_token: Option<String>,
    pub public_url: String,
    /// The Discord connection, for `/readyz`.
    pub gateway: Arc<dyn Gateway>,
}

/// The Discord gateway as `/readyz` asks about it.
pub trait Gateway: Send + Sync + 'static {
    /// Connected now (not merely once).
    fn connected(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + '_>>;
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/releases/{id}", get(release_status))
        .route("/hooks/releases", post(trigger))
        .route("/hooks/activities/{token}", post(callback))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({"error": message.to_string()}))).into_response()
}

fn signed_headers(headers: &HeaderMap) -> SignedHeaders {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(String::from);
    SignedHeaders { id: get(ID_HEADER), timestamp: get(TIMESTAMP_HEADER), signature: get(SIGNATURE_HEADER) }
}

async fn readyz(State(state): State<HttpState>) -> Response {
    // Ready means able to do the work now: a write goes through (a full disk or a read-only file
    // would stop every release), the gateway is connected at this moment, and this process holds
    // the database's instance lock (it could not be serving otherwise; see `InstanceLock`).
    let writes = state.engine.store().write_probe().await;
    let gateway = state.gateway.connected().await;
    let body = json!({
        "database": match &writes { Ok(()) => "ok".to_string(), Err(e) => format!("writes fail: {e}") },
        "gateway": if gateway { "connected" } else { "disconnected" },
        "instance_lock": "held",
    });
    let status = if writes.is_ok() && gateway { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

async fn metrics(State(state): State<HttpState>) -> Response {
    let store = state.engine.store();
    let (releases, outbox, activities) =
        match (store.releases_by_status().await, store.outbox_depth().await, store.activity_durations().await) {
            (Ok(r), Ok(o), Ok(a)) => (r, o, a),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                tracing::error!(error = %e, "metrics cannot read the database");
                return error(StatusCode::SERVICE_UNAVAILABLE, "the database cannot be read");
            }
        };
    let text = state.engine.metrics.render(&releases, &outbox, &activities);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// Compares without an early exit, so timing does not reveal how much of a token matched.
fn same_token(given: &str, expected: &str) -> bool {
    given.len() == expected.len() && given.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

async fn release_status(State(state): State<HttpState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let Some(expected) = &state.api_token else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the status API is not configured: set TRAINMASTER_API_TOKEN");
    };
    let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if !given.is_some_and(|g| same_token(g, expected)) {
        return error(StatusCode::UNAUTHORIZED, "send `Authorization: Bearer <api token>`");
    }
    let id: ReleaseId = match id.parse() {
        Ok(id) => id,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match state.engine.release_in_any_guild(id).await {
        Ok(release) => Json(release_json(&release)).into_response(),
        Err(EngineError::NotFound(id)) => error(StatusCode::NOT_FOUND, format!("there is no release {id}")),
        Err(e) => internal(e),
    }
}

fn internal(e: impl std::fmt::Debug) -> Response {
    tracing::error!(error = ?e, "request failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal error; the operators have the details in the log")
}

/// A release as JSON for pipelines.
pub fn release_json(release: &Release) -> serde_json::Value {
    json!({
        "id": release.id.0,
        "name": release.name,
        "process": release.process.name,
        "process_version": release.process.version,
        "kind": release.process.kind,
        "status": release.status,
        "reason": release.reason,
        "inputs": release.inputs,
        "phases": release.phases.iter().map(|p| json!({
            "id": p.id,
            "status": p.status,
            "activities": p.activities.iter().map(|a| json!({
                "id": a.id, "status": a.status, "attempt": a.attempt, "reason": a.reason, "outputs": a.outputs,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

async fn trigger(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = &state.trigger_secret else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "release triggers are not configured: set TRAINMASTER_TRIGGER_SECRET");
    };
    match state.engine.trigger(secret, &signed_headers(&headers), &body).await {
        Ok((release, created)) => {
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            let body = json!({
                "id": release.id.0,
                "status": release.status,
                "created": created,
                "status_url": format!("{}/releases/{}", state.public_url.trim_end_matches('/'), release.id),
            });
            (status, Json(body)).into_response()
        }
        Err(TriggerError::Unauthorized(why)) => error(StatusCode::UNAUTHORIZED, why),
        Err(TriggerError::Invalid(why)) => error(StatusCode::BAD_REQUEST, why),
        Err(TriggerError::Engine(EngineError::Store(e))) => internal(e),
        Err(TriggerError::Engine(e)) => error(StatusCode::UNPROCESSABLE_ENTITY, e),
    }
}

async fn callback(State(state): State<HttpState>, Path(token): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    match state.engine.callback(&token, &signed_headers(&headers), &body).await {
        Ok(release) => Json(json!({"accepted": true, "release": release.0})).into_response(),
        Err(e @ CallbackError::UnknownToken) => error(StatusCode::NOT_FOUND, e),
        Err(e @ CallbackError::Unauthorized(_)) => error(StatusCode::UNAUTHORIZED, e),
        Err(e @ (CallbackError::Replayed(_) | CallbackError::NotRunning(_))) => error(StatusCode::CONFLICT, e),
        Err(e @ CallbackError::BadBody(_)) => error(StatusCode::BAD_REQUEST, e),
        Err(e @ CallbackError::SecretUnavailable) => error(StatusCode::SERVICE_UNAVAILABLE, e),
        Err(CallbackError::Engine(EngineError::Store(e))) => internal(e),
        Err(CallbackError::Engine(e)) => error(StatusCode::UNPROCESSABLE_ENTITY, e),
    }
}

#[cfg(test)]
mod tests {
    use super::same_token;

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abd", "abc"));
        assert!(!same_token("ab", "abc"));
    }
}
