//! The REST v10 subset the bot uses. Every request is recorded (for the contract test) before
//! it is answered; unknown routes get Discord's 404 shape.

use super::{gateway, payloads, RecordedRequest, Reply, Shared, StoredMessage, CHANNEL_ID, GUILD_ID};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new().route("/gateway", get(gateway::upgrade)).fallback(any).with_state(shared)
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"message": "404: Not Found", "code": 0}))).into_response()
}

fn ok(v: Value) -> Response {
    Json(v).into_response()
}

async fn any(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, headers: axum::http::HeaderMap, body: Bytes) -> Response {
    if let (&Method::GET, Some(rest)) = (&method, uri.path().strip_prefix("/attachments/")) {
        // Discord's CDN, not its API: not recorded for the contract test.
        let id: u64 = rest.split('/').next().and_then(|id| id.parse().ok()).unwrap_or_default();
        return match shared.world().attachments.get(&id) {
            Some(bytes) => bytes.clone().into_response(),
            None => not_found(),
        };
    }
    let Some(path) = uri.path().strip_prefix("/api/v10") else {
        return not_found();
    };
    let multipart = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).filter(|ct| ct.starts_with("multipart/"));
    let (body, files): (Option<Value>, Vec<Value>) = match multipart {
        Some(content_type) => files_and_payload(&shared, content_type, body).await.map_or((None, vec![]), |(p, f)| (Some(p), f)),
        None if body.is_empty() => (None, vec![]),
        None => (serde_json::from_slice(&body).ok(), vec![]),
    };
    shared.world().requests.push(RecordedRequest { method: method.to_string(), path: path.to_string(), body: body.clone() });
    shared.changed();
    if let Some(status) = injected_fault(&shared, method.as_str(), path) {
        shared.changed();
        return fault_response(status);
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut body = body.unwrap_or(Value::Null);
    if !files.is_empty() {
        // Recorded as sent (the contract test checks it); kept with the files, as Discord answers.
        body["attachments"] = Value::Array(files);
    }
    let response = match (method.as_str(), segments.as_slice()) {
        ("GET", ["gateway"]) => ok(json!({"url": format!("ws://{}/gateway", shared.addr)})),
        ("GET", ["gateway", "bot"]) => ok(json!({
            "url": format!("ws://{}/gateway", shared.addr), "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        })),
        ("GET", ["users", "@me"]) => ok(payloads::bot_user()),
        ("PUT", ["applications", _, "commands"]) => register_commands(&shared, &body),
        ("POST", ["interactions", id, _token, "callback"]) => {
            let id: u64 = id.parse().unwrap_or_default();
            let mut w = shared.world();
            let origin = w.clicked.get(&id).cloned();
            let reply = Reply {
                kind: body["type"].as_u64().unwrap_or_default(),
                data: body.get("data").cloned().unwrap_or(Value::Null),
                edited: false,
                origin,
            };
            w.replies.insert(id, reply);
            drop(w);
            StatusCode::NO_CONTENT.into_response()
        }
        ("PATCH", ["webhooks", _, token, "messages", "@original"]) | ("POST", ["webhooks", _, token]) => edit_reply(&shared, token, &body),
        ("GET", ["webhooks", _, token, "messages", "@original"]) => {
            let w = shared.world();
            let data = w.tokens.get(*token).and_then(|id| w.replies.get(id)).map(|r| r.data.clone()).unwrap_or(Value::Null);
            ok(reply_message(&data))
        }
        ("POST", ["users", "@me", "channels"]) => open_dm(&shared, &body),
        ("POST", ["channels", channel, "messages"]) => post_message(&shared, channel, &body),
        ("POST", ["channels", channel, "messages", message, "threads"]) => start_thread(&shared, channel, message, &body),
        ("PATCH", ["channels", _, "messages", id]) => edit_message(&shared, id, &body),
        ("GET", ["channels", id]) if *id == CHANNEL_ID.to_string() => ok(payloads::text_channel()),
        ("GET", ["guilds", id, "roles"]) if *id == GUILD_ID.to_string() => ok(Value::Array(guild_roles())),
        _ => not_found(),
    };
    shared.changed();
    response
}

/// A message with files, as Discord takes it: `payload_json` is the message, `files[n]` the files.
/// The files are kept (served at `/attachments/<id>/<name>`) and returned as the message's
/// `attachments`, with their size and URL, as Discord answers.
async fn files_and_payload(shared: &Shared, content_type: &str, body: Bytes) -> Option<(Value, Vec<Value>)> {
    use axum::extract::FromRequest;
    let request =
        axum::http::Request::builder().header(axum::http::header::CONTENT_TYPE, content_type).body(axum::body::Body::from(body)).ok()?;
    let mut form = axum::extract::Multipart::from_request(request, &()).await.ok()?;
    let (mut payload, mut files) = (json!({}), vec![]);
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_string();
        let filename = field.file_name().unwrap_or("file").to_string();
        let Ok(bytes) = field.bytes().await else { break };
        if name == "payload_json" {
            payload = serde_json::from_slice(&bytes).unwrap_or(json!({}));
        } else {
            files.push((filename, bytes));
        }
    }
    let mut attachments = vec![];
    for (filename, bytes) in files {
        let id = shared.next_id();
        let url = format!("http://{}/attachments/{id}/{filename}", shared.addr);
        attachments.push(json!({"id": id.to_string(), "filename": filename, "size": bytes.len(), "url": url, "proxy_url": url}));
        shared.world().attachments.insert(id, bytes.to_vec());
    }
    Some((payload, attachments))
}

pub(super) fn guild_roles() -> Vec<Value> {
    let mut roles = vec![payloads::role(GUILD_ID, "@everyone", 0)];
    for (i, (id, name)) in super::roles::ALL.iter().enumerate() {
        roles.push(payloads::role(*id, name, i as u64 + 1));
    }
    roles
}

fn register_commands(shared: &Shared, body: &Value) -> Response {
    let mut registered = vec![];
    for command in body.as_array().cloned().unwrap_or_default() {
        let id = shared.next_id();
        let name = command["name"].as_str().unwrap_or_default().to_string();
        let mut c = command.clone();
        c["id"] = json!(id.to_string());
        c["application_id"] = json!(super::APPLICATION_ID.to_string());
        c["version"] = json!(id.to_string());
        c["type"] = c.get("type").cloned().unwrap_or(json!(1));
        let mut w = shared.world();
        w.command_ids.insert(name.clone(), id);
        w.commands.insert(name, c.clone());
        registered.push(c);
    }
    ok(Value::Array(registered))
}

pub(super) fn reply_message(data: &Value) -> Value {
    let empty = json!([]);
    payloads::message(
        0,
        CHANNEL_ID,
        payloads::bot_user(),
        data["content"].as_str().unwrap_or_default(),
        data.get("embeds").unwrap_or(&empty),
        data.get("components").unwrap_or(&empty),
        true,
    )
}

fn edit_reply(shared: &Shared, token: &str, body: &Value) -> Response {
    let mut w = shared.world();
    let Some(id) = w.tokens.get(token).copied() else {
        return not_found();
    };
    let reply = w.replies.entry(id).or_insert(Reply { kind: 4, data: json!({}), edited: false, origin: None });
    reply.edited = true;
    if !reply.data.is_object() {
        reply.data = json!({});
    }
    if let (Some(target), Some(changes)) = (reply.data.as_object_mut(), body.as_object()) {
        for (k, v) in changes {
            target.insert(k.clone(), v.clone());
        }
    }
    let data = reply.data.clone();
    drop(w);
    ok(reply_message(&data))
}

/// The status of a fault set with `Sandbox::fail_next` that matches, using one of its times.
fn injected_fault(shared: &Shared, method: &str, path: &str) -> Option<u16> {
    let mut w = shared.world();
    let fault = w.faults.iter_mut().find(|f| f.times > 0 && f.method == method && path.contains(&f.path))?;
    fault.times -= 1;
    Some(fault.status)
}

fn fault_response(status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match status {
        429 => {
            let body = json!({"message": "You are being rate limited.", "retry_after": 0.5, "global": false, "code": 0});
            (code, [("retry-after", "1"), ("x-ratelimit-scope", "user")], Json(body)).into_response()
        }
        403 => (code, Json(json!({"message": "Missing Permissions", "code": 50013}))).into_response(),
        // A channel deleted under the bot.
        404 => (code, Json(json!({"message": "Unknown Channel", "code": 10003}))).into_response(),
        _ => (code, Json(json!({"message": "Internal Server Error", "code": 0}))).into_response(),
    }
}

/// A direct-message channel with a user (`recipient_id`), the same one each time.
fn open_dm(shared: &Shared, body: &Value) -> Response {
    let Some(user) = body["recipient_id"].as_str().and_then(|u| u.parse::<u64>().ok()) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"message": "Invalid Form Body", "code": 50035}))).into_response();
    };
    let existing = shared.world().dms.iter().find(|(_, u)| **u == user).map(|(c, _)| *c);
    let channel = existing.unwrap_or_else(|| {
        let id = shared.next_id();
        shared.world().dms.insert(id, user);
        id
    });
    let recipient =
        json!({"id": user.to_string(), "username": format!("user{user}"), "global_name": null, "discriminator": "0", "avatar": null});
    ok(json!({"id": channel.to_string(), "type": 1, "last_message_id": null, "recipients": [recipient], "flags": 0}))
}

fn post_message(shared: &Shared, channel: &str, body: &Value) -> Response {
    let Ok(channel_id) = channel.parse::<u64>() else {
        return not_found();
    };
    let known = {
        let w = shared.world();
        w.threads.contains_key(&channel_id) || w.dms.contains_key(&channel_id)
    };
    if ![CHANNEL_ID, super::OTHER_CHANNEL_ID, super::COMMANDS_CHANNEL_ID].contains(&channel_id) && !known {
        return (StatusCode::NOT_FOUND, Json(json!({"message": "Unknown Channel", "code": 10003}))).into_response();
    }
    // Like Discord: with enforce_nonce, a repeated nonce returns the message already created.
    if body["enforce_nonce"].as_bool() == Some(true) {
        if let Some(nonce) = body.get("nonce") {
            let existing = shared.world().messages.iter().find(|m| m.json.get("nonce") == Some(nonce)).map(|m| m.json.clone());
            if let Some(existing) = existing {
                return ok(existing);
            }
        }
    }
    let id = shared.next_id();
    let empty = json!([]);
    let mut json = payloads::message(
        id,
        channel_id,
        payloads::bot_user(),
        body["content"].as_str().unwrap_or_default(),
        body.get("embeds").unwrap_or(&empty),
        body.get("components").unwrap_or(&empty),
        false,
    );
    if let Some(nonce) = body.get("nonce") {
        json["nonce"] = nonce.clone();
    }
    shared.world().messages.push(StoredMessage { id, channel_id, json: json.clone() });
    ok(json)
}

fn start_thread(shared: &Shared, channel: &str, message: &str, body: &Value) -> Response {
    let (Ok(channel_id), Ok(message_id)) = (channel.parse::<u64>(), message.parse::<u64>()) else {
        return not_found();
    };
    let mut w = shared.world();
    if !w.messages.iter().any(|m| m.id == message_id && m.channel_id == channel_id) {
        return (StatusCode::NOT_FOUND, Json(json!({"message": "Unknown Message", "code": 10008}))).into_response();
    }
    if w.threads.contains_key(&message_id) {
        let refusal = json!({"message": "A thread has already been created for this message", "code": 160004});
        return (StatusCode::BAD_REQUEST, Json(refusal)).into_response();
    }
    w.threads.insert(message_id, channel_id);
    ok(payloads::thread_channel(message_id, channel_id, body["name"].as_str().unwrap_or_default()))
}

fn edit_message(shared: &Shared, id: &str, body: &Value) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return not_found();
    };
    let mut w = shared.world();
    let Some(message) = w.messages.iter_mut().find(|m| m.id == id) else {
        return (StatusCode::NOT_FOUND, Json(json!({"message": "Unknown Message", "code": 10008}))).into_response();
    };
    for key in ["content", "embeds", "components"] {
        if let Some(v) = body.get(key) {
            message.json[key] = v.clone();
        }
    }
    ok(message.json.clone())
}
