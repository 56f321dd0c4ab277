//! The gateway: HELLO, IDENTIFY → READY and GUILD_CREATE (with roles), heartbeats, and the
//! dispatches the driver sends (INTERACTION_CREATE). Text frames, JSON, no compression.

use super::{payloads, rest, Shared};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Queued instead of a frame: end the connection without a close frame.
pub(super) const DROP: &str = "\u{0}drop";

pub(super) async fn upgrade(State(shared): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    if shared.world().gateway_down {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    ws.on_upgrade(move |socket| session(shared, socket))
}

async fn session(shared: Arc<Shared>, mut socket: WebSocket) {
    let hello = json!({"op": 10, "d": {"heartbeat_interval": 41_250}}).to_string();
    if socket.send(Message::Text(hello.into())).await.is_err() {
        return;
    }
    let (outgoing, mut queue) = mpsc::unbounded_channel::<String>();
    loop {
        tokio::select! {
            frame = socket.recv() => {
                let Some(Ok(frame)) = frame else { break };
                let text = match frame {
                    Message::Text(t) => t.to_string(),
                    Message::Close(_) => break,
                    _ => continue,
                };
                let Ok(payload) = serde_json::from_str::<Value>(&text) else { continue };
                match payload["op"].as_u64() {
                    // Heartbeat → heartbeat ACK.
                    Some(1) => {
                        let _ = outgoing.send(json!({"op": 11}).to_string());
                    }
                    // IDENTIFY (or RESUME, answered as a fresh session) → READY, GUILD_CREATE.
                    Some(2) | Some(6) => {
                        {
                            let mut w = shared.world();
                            w.identifies += 1;
                            w.gateway = Some(outgoing.clone());
                        }
                        let resume = format!("ws://{}/gateway", shared.addr);
                        let session_id = format!("session-{}", shared.next_id());
                        let withhold = shared.world().withhold_guild;
                        let sent = shared.dispatch("READY", payloads::ready(&session_id, &resume))
                            .and_then(|_| if withhold { Ok(()) } else { shared.dispatch("GUILD_CREATE", payloads::guild_create(&rest::guild_roles())) })
                            .and_then(|_| {
                                let everyone = [payloads::role(super::OTHER_GUILD_ID, "@everyone", 0)];
                                let other = payloads::guild_create_for(super::OTHER_GUILD_ID, "Other", super::OTHER_CHANNEL_ID, &everyone);
                                shared.dispatch("GUILD_CREATE", other)
                            });
                        if sent.is_err() {
                            break;
                        }
                        shared.changed();
                    }
                    _ => {}
                }
            }
            queued = queue.recv() => {
                let Some(frame) = queued else { break };
                // A dropped socket: no close frame, the TCP connection just ends.
                if frame == DROP {
                    break;
                }
                if socket.send(Message::Text(frame.into())).await.is_err() {
                    break;
                }
            }
        }
    }
    // Forget this connection if it is still the current one.
    let mut w = shared.world();
    if w.gateway.as_ref().is_some_and(|g| g.same_channel(&outgoing)) {
        w.gateway = None;
    }
    drop(w);
    shared.changed();
}
