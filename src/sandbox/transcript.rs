//! What the bot said, for reading it back: every message text it sent (posts, edits, answers),
//! and a transcript of the channels as they stand, for `cargo xtask chat-html` to draw as
//! Discord would show it.

use super::{Sandbox, CHANNEL_ID, GUILD_ID};
use serde_json::{json, Value};

/// One thing the bot said: a message posted or edited, or an answer to an interaction.
#[derive(Debug, Clone)]
pub struct Said {
    /// `POST /channels/1/messages` and the like: where it was said.
    pub route: String,
    /// The message body as the bot sent it (for an interaction answer, its `data`).
    pub body: Value,
}

impl Said {
    /// Every piece of text in it a person reads, one string per place (content, title,
    /// description, field name, field value, footer, button label).
    pub fn texts(&self) -> Vec<String> {
        let mut out = vec![];
        let mut push = |v: &Value| {
            if let Some(s) = v.as_str().filter(|s| !s.is_empty()) {
                out.push(s.to_string());
            }
        };
        push(&self.body["content"]);
        for embed in self.body["embeds"].as_array().into_iter().flatten() {
            push(&embed["title"]);
            push(&embed["description"]);
            push(&embed["footer"]["text"]);
            for field in embed["fields"].as_array().into_iter().flatten() {
                push(&field["name"]);
                push(&field["value"]);
            }
        }
        for row in self.body["components"].as_array().into_iter().flatten() {
            for component in row["components"].as_array().into_iter().flatten() {
                push(&component["label"]);
                push(&component["placeholder"]);
            }
        }
        out
    }
}

impl Sandbox {
    /// Everything the bot said so far, in order: each post, each edit, each interaction answer.
    pub fn said(&self) -> Vec<Said> {
        self.requests()
            .into_iter()
            .filter_map(|r| {
                let body = r.body?;
                let route = format!("{} {}", r.method, r.path);
                let message = r.path.contains("/messages") || r.path.starts_with("/webhooks/");
                if r.path.ends_with("/callback") {
                    return Some(Said { route, body: body.get("data").cloned().unwrap_or(Value::Null) });
                }
                (message && r.method != "GET").then_some(Said { route, body })
            })
            .collect()
    }

    /// The channels as they read now (each message as last edited; threads with their parent)
    /// and the answers to interactions, with the guild's role names to show mentions by.
    pub fn transcript(&self) -> Value {
        let w = self.shared.world();
        let mut channels: Vec<u64> = vec![CHANNEL_ID, super::OTHER_CHANNEL_ID];
        let mut threads: Vec<(u64, u64)> = w.threads.iter().map(|(t, p)| (*t, *p)).collect();
        threads.sort();
        channels.extend(threads.iter().map(|(t, _)| *t));
        let channels: Vec<Value> = channels
            .iter()
            .map(|id| {
                let messages: Vec<&Value> = w.messages.iter().filter(|m| m.channel_id == *id).map(|m| &m.json).collect();
                let parent = threads.iter().find(|(t, _)| t == id).map(|(_, p)| p.to_string());
                json!({"id": id.to_string(), "parent": parent, "messages": messages})
            })
            .filter(|c| c["messages"].as_array().is_some_and(|m| !m.is_empty()))
            .collect();
        let mut replies: Vec<(&u64, &super::Reply)> = w.replies.iter().collect();
        replies.sort_by_key(|(id, _)| **id);
        let replies: Vec<Value> = replies.iter().map(|(_, r)| r.data.clone()).collect();
        let roles: serde_json::Map<String, Value> =
            super::roles::ALL.iter().map(|(id, name)| (id.to_string(), Value::String(name.to_string()))).collect();
        json!({"guild": GUILD_ID.to_string(), "roles": roles, "channels": channels, "replies": replies})
    }
}
