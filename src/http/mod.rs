//! The HTTP face of the bot (axum): signed activity callbacks, release triggers from CI, a
//! status API for pipelines, health and Prometheus metrics. Every refusal is a 4xx with a reason
//! in JSON (`{"error": "..."}`).

mod ics;

use crate::domain::release::{Release, ReleaseId};
use crate::domain::GuildId;
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
    /// Requests each client address may make to `/hooks/*`.
    pub hooks_limit: HooksLimit,
    /// Status API tokens scoped to one server: they see its releases only.
    pub guild_api_tokens: Vec<(GuildId, String)>,
}

/// A per-address rate limit on `/hooks/*`: `burst` requests at once, then one more every
/// `1 / per_second` s; over it, 429 with `Retry-After`. Keyed by the peer address: behind a
/// reverse proxy every caller shares the proxy's (its forwarding headers are not trusted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HooksLimit {
    pub per_second: u32,
    pub burst: u32,
}

impl Default for HooksLimit {
    /// Room for a CI system starting many pipelines at once, far below what fills a disk.
    fn default() -> Self {
        Self { per_second: 50, burst: 200 }
    }
}

/// The Discord gateway as `/readyz` asks about it.
pub trait Gateway: Send + Sync + 'static {
    /// Connected now (not merely once).
    fn connected(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + '_>>;
}

/// The routes. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`: the hooks'
/// rate limit is keyed by the peer address.
pub fn router(state: HttpState) -> Router {
    let hooks = Router::new().route("/hooks/releases", post(trigger)).route("/hooks/activities/{token}", post(callback));
    let hooks = rate_limited(hooks, state.hooks_limit);
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/releases/{id}", get(release_status))
        .route("/calendar.ics", get(calendar_feed))
        .route("/inventory", get(inventory))
        .route("/releases/{id}/report", get(release_report))
        .merge(hooks)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Refusals axum makes itself (unknown route, wrong method, a body too large) answer in
        // JSON like ours.
        .layer(axum::middleware::map_response(errors_as_json))
        .with_state(state)
}

/// `routes` behind the per-address rate limit; unlimited when `limit` has a zero.
fn rate_limited(routes: Router<HttpState>, limit: HooksLimit) -> Router<HttpState> {
    if limit.per_second == 0 || limit.burst == 0 {
        return routes;
    }
    let period = std::time::Duration::from_nanos(1_000_000_000 / u64::from(limit.per_second));
    let Some(config) = tower_governor::governor::GovernorConfigBuilder::default().period(period).burst_size(limit.burst).finish() else {
        return routes;
    };
    // Forget addresses that have been quiet, so the table stays small.
    let limiter = config.limiter().clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            limiter.retain_recent();
        }
    });
    routes.layer(tower_governor::GovernorLayer::new(config))
}

/// A 4xx/5xx that is not JSON yet becomes `{"error": ...}` with its text (or its status's name).
async fn errors_as_json(response: Response) -> Response {
    let status = response.status();
    let is_json =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).trim().to_string()).unwrap_or_default();
    let message = match (text.is_empty(), status) {
        (_, StatusCode::NOT_FOUND) => "there is no such endpoint: see the README's HTTP section".to_string(),
        (_, StatusCode::METHOD_NOT_ALLOWED) => {
            match parts.headers.get(header::ALLOW).and_then(|v| v.to_str().ok()).filter(|a| !a.is_empty()) {
                Some(allowed) => format!("method not allowed here; use {allowed}"),
                None => "method not allowed here: see the README's HTTP section".to_string(),
            }
        }
        (_, StatusCode::PAYLOAD_TOO_LARGE) => format!("the body is larger than {} KiB", BODY_LIMIT / 1024),
        (_, StatusCode::TOO_MANY_REQUESTS) => {
            // The limiter rounds the wait down to whole seconds; less than one second reads 0,
            // which would invite an immediate retry. Round up instead.
            let after = parts
                .headers
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
                .max(1);
            parts.headers.insert(header::RETRY_AFTER, header::HeaderValue::from(after));
            format!("too many requests from this address; retry after {after} s")
        }
        (true, _) => status.canonical_reason().unwrap_or("error").to_string(),
        (false, _) => text,
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    Response::from_parts(parts, axum::body::Body::from(json!({"error": message}).to_string()))
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
    let mut text = state.engine.metrics.render(&releases, &outbox, &activities, store.wal_bytes());
    match state.engine.dora_gauges().await {
        Ok(dora) => text.push_str(&dora),
        Err(e) => tracing::warn!(error = %e, "metrics cannot compute the DORA figures"),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// Compares without an early exit, so timing does not reveal how much of a token matched.
fn same_token(given: &str, expected: &str) -> bool {
    given.len() == expected.len() && given.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// What a status API token may see.
enum Scope {
    Everything,
    Guild(GuildId),
}

/// What `given` (a token) may see, if anything.
fn scope_of(state: &HttpState, given: Option<&str>) -> Option<Scope> {
    given.and_then(|given| {
        let everything = state.api_token.as_deref().is_some_and(|expected| same_token(given, expected));
        let guild = state.guild_api_tokens.iter().find(|(_, token)| same_token(given, token)).map(|(guild, _)| *guild);
        match (everything, guild) {
            (true, _) => Some(Scope::Everything),
            (false, Some(guild)) => Some(Scope::Guild(guild)),
            (false, None) => None,
        }
    })
}

#[derive(serde::Deserialize)]
struct FeedQuery {
    token: Option<String>,
    guild: Option<String>,
}

/// `GET /calendar.ics?token=…[&guild=…]`: the server's plan from 30 days back to 180 ahead, for
/// calendar apps, which cannot send headers: the token rides in the URL. A server's own token
/// names its server; the operators' token needs `guild=`.
async fn calendar_feed(State(state): State<HttpState>, axum::extract::Query(query): axum::extract::Query<FeedQuery>) -> Response {
    if state.api_token.is_none() && state.guild_api_tokens.is_empty() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the calendar feed is not configured: set TRAINMASTER_API_TOKEN or a server's api_token",
        );
    }
    let guild = match (scope_of(&state, query.token.as_deref().map(str::trim)), query.guild.as_deref()) {
        (None, _) => return error(StatusCode::UNAUTHORIZED, "add `?token=<api token>` to the feed's address"),
        (Some(Scope::Guild(guild)), _) => guild,
        (Some(Scope::Everything), Some(g)) => match g.trim().parse::<u64>() {
            Ok(id) => GuildId(id),
            Err(_) => return error(StatusCode::BAD_REQUEST, format!("`guild={g}` is not a server id")),
        },
        (Some(Scope::Everything), None) => return error(StatusCode::BAD_REQUEST, "name the server: add `&guild=<server id>`"),
    };
    let now = state.engine.now();
    let plan = match state.engine.calendar(guild, now - chrono::Duration::days(30), now + chrono::Duration::days(180), None).await {
        Ok(plan) => plan,
        Err(e) => return internal(e),
    };
    let body = ics::feed(&plan, state.engine.store().installation(), now);
    ([(header::CONTENT_TYPE, "text/calendar; charset=utf-8")], body).into_response()
}

/// `GET /inventory[?guild=…&service=…&environment=…]` with `Authorization: Bearer <api token>`:
/// what runs where, as JSON. A server's token sees its server; the operators' token names one.
async fn inventory(
    State(state): State<HttpState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<InventoryQuery>,
) -> Response {
    if state.api_token.is_none() && state.guild_api_tokens.is_empty() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the status API is not configured: set TRAINMASTER_API_TOKEN");
    }
    let given = bearer(&headers);
    let guild = match (scope_of(&state, given), query.guild.as_deref()) {
        (None, _) => return error(StatusCode::UNAUTHORIZED, "send `Authorization: Bearer <api token>`"),
        (Some(Scope::Guild(guild)), _) => guild,
        (Some(Scope::Everything), Some(g)) => match g.trim().parse::<u64>() {
            Ok(id) => GuildId(id),
            Err(_) => return error(StatusCode::BAD_REQUEST, format!("`guild={g}` is not a server id")),
        },
        (Some(Scope::Everything), None) => return error(StatusCode::BAD_REQUEST, "name the server: add `?guild=<server id>`"),
    };
    let filter = crate::store::DeliveryFilter { service: query.service, environment: query.environment, process: None };
    match state.engine.deployed(guild, &filter).await {
        Ok(now) => Json(json!({ "guild_id": guild.0.to_string(), "deployed": now })).into_response(),
        Err(e) => internal(e),
    }
}

#[derive(serde::Deserialize)]
struct InventoryQuery {
    guild: Option<String>,
    service: Option<String>,
    environment: Option<String>,
}

#[derive(serde::Deserialize)]
struct ReportQuery {
    format: Option<String>,
}

/// `GET /releases/{id}/report?format=md|csv|json` (JSON by default): the release's report, as
/// `/release report` attaches it.
async fn release_report(
    State(state): State<HttpState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<ReportQuery>,
) -> Response {
    let release = match visible_release(&state, &headers, &id).await {
        Ok(release) => release,
        Err(response) => return response,
    };
    let id = release.id;
    let report = match state.engine.report(release.guild_id, id).await {
        Ok(report) => report,
        Err(e) => return internal(e),
    };
    match query.format.as_deref().unwrap_or("json") {
        "json" => Json(report).into_response(),
        "md" => ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], report.markdown()).into_response(),
        "csv" => match report.activities_csv() {
            Ok(csv) => ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response(),
            Err(e) => internal(e),
        },
        other => error(StatusCode::BAD_REQUEST, format!("format `{other}` is not one of md, csv, json")),
    }
}

/// The bearer token of a request; the scheme is case-insensitive (RFC 9110 §11.1).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

/// Release `id` when the request's token may see it; else the answer to give (503 without any
/// token configured, 401, 400 for a bad id, 404, which a server's token also gets for another
/// server's release: it does not learn that it exists).
async fn visible_release(state: &HttpState, headers: &HeaderMap, id: &str) -> Result<Release, Response> {
    if state.api_token.is_none() && state.guild_api_tokens.is_empty() {
        return Err(error(StatusCode::SERVICE_UNAVAILABLE, "the status API is not configured: set TRAINMASTER_API_TOKEN"));
    }
    let Some(scope) = scope_of(state, bearer(headers)) else {
        return Err(error(StatusCode::UNAUTHORIZED, "send `Authorization: Bearer <api token>`"));
    };
    let id: ReleaseId = id.parse().map_err(|e: String| error(StatusCode::BAD_REQUEST, e))?;
    match state.engine.release_in_any_guild(id).await {
        Ok(release) if matches!(scope, Scope::Guild(guild) if guild != release.guild_id) => {
            Err(error(StatusCode::NOT_FOUND, format!("there is no release {id}")))
        }
        Ok(release) => Ok(release),
        Err(EngineError::NotFound(id)) => Err(error(StatusCode::NOT_FOUND, format!("there is no release {id}"))),
        Err(e) => Err(internal(e)),
    }
}

async fn release_status(State(state): State<HttpState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    match visible_release(&state, &headers, &id).await {
        Ok(release) => Json(release_json(&release)).into_response(),
        Err(response) => response,
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
        // A string, as Discord writes snowflakes: JSON numbers lose precision past 2^53.
        "guild_id": release.guild_id.0.to_string(),
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
        Err(TriggerError::Forbidden(why)) => error(StatusCode::FORBIDDEN, why),
        Err(TriggerError::Engine(EngineError::Store(e))) => internal(e),
        Err(TriggerError::Engine(e)) => error(StatusCode::UNPROCESSABLE_ENTITY, e),
    }
}

async fn callback(
    State(state): State<HttpState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            if let Err(e) = state.engine.callback_too_large(&token, &signed_headers(&headers), BODY_LIMIT).await {
                tracing::error!(error = %e, "cannot audit an oversized callback");
            }
            return error(StatusCode::PAYLOAD_TOO_LARGE, format!("the body is larger than {} KiB", BODY_LIMIT / 1024));
        }
        Err(rejection) => return error(rejection.status(), rejection.body_text()),
    };
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
