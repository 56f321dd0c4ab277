//! JSON payloads the sandbox sends, shaped like Discord's. serenity drops what it cannot
//! deserialize without a word, so each builder is checked against serenity's own model types in
//! the tests below.

use super::{SandboxUser, APPLICATION_ID, CHANNEL_ID, GUILD_ID};
use serde_json::{json, Value};

pub const BOT_NAME: &str = "Trainmaster";
const TIMESTAMP: &str = "2026-01-01T00:00:00.000000+00:00";

pub fn bot_user() -> Value {
    json!({
        "id": APPLICATION_ID.to_string(), "username": BOT_NAME, "discriminator": "0000",
        "global_name": null, "avatar": null, "bot": true, "verified": true, "mfa_enabled": false,
        "flags": 0, "public_flags": 0
    })
}

pub fn user(u: &SandboxUser) -> Value {
    json!({
        "id": u.id.to_string(), "username": u.name, "discriminator": "0", "global_name": u.name,
        "avatar": null, "public_flags": 0
    })
}

pub fn member(u: &SandboxUser) -> Value {
    json!({
        "user": user(u),
        "roles": u.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        "joined_at": TIMESTAMP, "deaf": false, "mute": false, "flags": 0, "pending": false,
        "nick": null, "avatar": null, "premium_since": null, "permissions": "2248473465835073"
    })
}

pub fn ready(session: &str, resume_url: &str) -> Value {
    json!({
        "v": 10, "user": bot_user(),
        "guilds": [{"id": GUILD_ID.to_string(), "unavailable": true}, {"id": super::OTHER_GUILD_ID.to_string(), "unavailable": true}],
        "session_id": session, "resume_gateway_url": resume_url, "shard": [0, 1],
        "application": {"id": APPLICATION_ID.to_string(), "flags": 0}
    })
}

pub fn role(id: u64, name: &str, position: u64) -> Value {
    json!({
        "id": id.to_string(), "name": name, "color": 0, "hoist": false, "icon": null,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "unicode_emoji": null, "position": position, "permissions": "0", "managed": false,
        "mentionable": false, "flags": 0
    })
}

pub fn text_channel() -> Value {
    text_channel_in(CHANNEL_ID, GUILD_ID)
}

/// A text channel `#releases` of `guild`.
pub fn text_channel_in(id: u64, guild: u64) -> Value {
    json!({
        "id": id.to_string(), "type": 0, "guild_id": guild.to_string(), "name": "releases",
        "position": 0, "permission_overwrites": [], "nsfw": false, "topic": null,
        "last_message_id": null, "parent_id": null, "rate_limit_per_user": 0
    })
}

/// A public thread started from message `id` of `parent` (Discord gives it the message's id).
pub fn thread_channel(id: u64, parent: u64, name: &str) -> Value {
    json!({
        "id": id.to_string(), "type": 11, "guild_id": GUILD_ID.to_string(), "name": name,
        "parent_id": parent.to_string(), "owner_id": super::APPLICATION_ID.to_string(),
        "last_message_id": null, "rate_limit_per_user": 0, "message_count": 0, "member_count": 1,
        "thread_metadata": {"archived": false, "auto_archive_duration": 10080, "archive_timestamp": "2026-01-01T00:00:00+00:00", "locked": false},
        "total_message_sent": 0, "flags": 0
    })
}

pub fn guild_create(roles: &[Value]) -> Value {
    let mut guild = guild_create_for(GUILD_ID, "Sandbox", CHANNEL_ID, roles);
    // A second channel, where people type commands away from the notices.
    if let Some(channels) = guild["channels"].as_array_mut() {
        let mut general = text_channel_in(super::COMMANDS_CHANNEL_ID, GUILD_ID);
        general["name"] = json!("general");
        channels.push(general);
    }
    guild
}

/// GUILD_CREATE of `guild` with one text channel, `channel`.
pub fn guild_create_for(guild: u64, name: &str, channel: u64, roles: &[Value]) -> Value {
    json!({
        "id": guild.to_string(), "name": name, "icon": null, "icon_hash": null, "splash": null,
        "discovery_splash": null, "owner_id": "1", "afk_channel_id": null, "afk_timeout": 300,
        "widget_enabled": false, "widget_channel_id": null, "verification_level": 0,
        "default_message_notifications": 0, "explicit_content_filter": 0, "roles": roles,
        "emojis": [], "features": [], "mfa_level": 0, "application_id": null,
        "system_channel_id": null, "system_channel_flags": 0, "rules_channel_id": null,
        "max_presences": null, "max_members": 1000, "vanity_url_code": null, "description": null,
        "banner": null, "premium_tier": 0, "premium_subscription_count": 0, "preferred_locale": "en-US",
        "public_updates_channel_id": null, "max_video_channel_users": 25, "nsfw_level": 0,
        "stickers": [], "premium_progress_bar_enabled": false, "safety_alerts_channel_id": null,
        "joined_at": TIMESTAMP, "large": false, "unavailable": false, "member_count": 3,
        "voice_states": [], "members": [], "channels": [text_channel_in(channel, guild)], "threads": [],
        "presences": [], "stage_instances": [], "guild_scheduled_events": []
    })
}

/// A message as Discord returns it.
pub fn message(
    id: u64,
    channel_id: u64,
    author: Value,
    content: &str,
    embeds: &Value,
    components: &Value,
    interaction_owner: bool,
) -> Value {
    let mut m = json!({
        "id": id.to_string(), "channel_id": channel_id.to_string(), "author": author,
        "content": content, "timestamp": TIMESTAMP, "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
        "embeds": embeds, "pinned": false, "type": 0, "flags": 0, "components": components
    });
    if !interaction_owner {
        m["guild_id"] = json!(GUILD_ID.to_string());
    }
    m
}

fn interaction_base(id: u64, kind: u8, token: &str, u: &SandboxUser) -> Value {
    // A person in the other server acts in its channel.
    let home = if u.guild_id == super::OTHER_GUILD_ID { super::OTHER_CHANNEL_ID } else { CHANNEL_ID };
    let channel = u.channel_id.unwrap_or(home);
    json!({
        "id": id.to_string(), "application_id": APPLICATION_ID.to_string(), "type": kind,
        "token": token, "version": 1, "locale": "en-US", "guild_locale": "en-US",
        "guild_id": u.guild_id.to_string(), "channel_id": channel.to_string(),
        "channel": {"id": channel.to_string(), "type": 0, "name": "releases", "permissions": "2248473465835073"},
        "member": member(u), "app_permissions": "2248473465835073", "entitlements": [],
        "authorizing_integration_owners": {"0": u.guild_id.to_string()}, "context": 0,
        "attachment_size_limit": 8_388_608
    })
}

/// A slash command `/command subcommand opt:value…`, as an INTERACTION_CREATE payload.
pub fn slash_command(
    id: u64,
    token: &str,
    command_id: u64,
    u: &SandboxUser,
    command: &str,
    subcommand: &str,
    options: &[(&str, &str)],
) -> Value {
    let mut i = interaction_base(id, 2, token, u);
    let options: Vec<Value> = options.iter().map(|(name, value)| json!({"name": name, "type": 3, "value": value})).collect();
    // A command without subcommands (`/deployed`) takes its options directly: `subcommand` is "".
    let options = if subcommand.is_empty() { options } else { vec![json!({"name": subcommand, "type": 1, "options": options})] };
    i["data"] = json!({
        "id": command_id.to_string(), "name": command, "type": 1, "guild_id": u.guild_id.to_string(),
        "options": options
    });
    i
}

/// Gives each option of a slash command payload the type its registration declares, as Discord's
/// client does: `"true"` becomes a boolean, `"3"` an integer, and a choice's name its value.
/// Refuses what Discord's client would not let anyone send.
pub fn type_options(interaction: &mut Value, registered: &Value) -> anyhow::Result<()> {
    // A subcommand is an option of type 1 holding the given options; else they are the command's own.
    let has_subcommand = interaction["data"]["options"][0]["type"] == 1;
    let subcommand =
        if has_subcommand { interaction["data"]["options"][0]["name"].as_str().unwrap_or_default().to_string() } else { String::new() };
    let declared: Vec<Value> = if has_subcommand {
        let found = registered["options"].as_array().into_iter().flatten().find(|o| o["name"] == subcommand.as_str());
        found.and_then(|s| s["options"].as_array().cloned()).unwrap_or_default()
    } else {
        registered["options"].as_array().cloned().unwrap_or_default()
    };
    let given = if has_subcommand {
        interaction["data"]["options"][0]["options"].as_array_mut()
    } else {
        interaction["data"]["options"].as_array_mut()
    };
    let Some(given) = given else { return Ok(()) };
    let mut users = vec![];
    for option in given.iter_mut() {
        let name = option["name"].as_str().unwrap_or_default().to_string();
        let Some(spec) = declared.iter().find(|d| d["name"] == name.as_str()) else {
            anyhow::bail!("/{} has no option `{name}`", subcommand);
        };
        let kind = spec["type"].as_u64().unwrap_or(3);
        let text = option["value"].as_str().unwrap_or_default().to_string();
        let choices = spec["choices"].as_array().cloned().unwrap_or_default();
        let value = if let Some(choice) = choices.iter().find(|c| c["name"] == text.as_str()) {
            choice["value"].clone()
        } else if !choices.is_empty() {
            anyhow::bail!("`{text}` is not a choice of `{name}`");
        } else {
            match kind {
                4 => json!(text.parse::<i64>().map_err(|_| anyhow::anyhow!("`{name}` takes an integer"))?),
                5 => json!(text.parse::<bool>().map_err(|_| anyhow::anyhow!("`{name}` takes true or false"))?),
                10 => json!(text.parse::<f64>().map_err(|_| anyhow::anyhow!("`{name}` takes a number"))?),
                _ => json!(text),
            }
        };
        if kind == 6 {
            // A user option: Discord sends the id and describes the user under `resolved`.
            let id = text.trim_start_matches("<@").trim_start_matches('!').trim_end_matches('>').to_string();
            id.parse::<u64>().map_err(|_| anyhow::anyhow!("`{name}` takes a user, like <@42>"))?;
            users.push(json!({"id": id, "username": format!("user{id}"), "global_name": null, "discriminator": "0", "avatar": null}));
            option["type"] = json!(6);
            option["value"] = json!(id);
            continue;
        }
        option["type"] = json!(kind);
        option["value"] = value;
    }
    for user in users {
        let id = user["id"].as_str().unwrap_or_default().to_string();
        interaction["data"]["resolved"]["users"][id] = user;
    }
    Ok(())
}

/// Sets the attachment option `option` of a slash command payload to an uploaded file, with the
/// file described under `data.resolved.attachments` as Discord sends it.
pub fn attach(interaction: &mut Value, option: &str, id: u64, filename: &str, size: usize, url: &str) {
    let value = json!({"name": option, "type": 11, "value": id.to_string()});
    if let Some(options) = interaction["data"]["options"][0]["options"].as_array_mut() {
        options.push(value);
    }
    interaction["data"]["resolved"] = json!({"attachments": {id.to_string(): {
        "id": id.to_string(), "filename": filename, "size": size, "url": url, "proxy_url": url,
        "content_type": "application/x-yaml; charset=utf-8", "ephemeral": true
    }}});
}

/// A button click on `message` (a full message object, as Discord sends it).
pub fn button_click(id: u64, token: &str, u: &SandboxUser, message: &Value, custom_id: &str) -> Value {
    let mut i = interaction_base(id, 3, token, u);
    i["message"] = message.clone();
    i["data"] = json!({"custom_id": custom_id, "component_type": 2});
    i
}

/// A submitted modal: the text typed into each field (`custom_id`, value), as Discord sends it.
pub fn modal_submit(id: u64, token: &str, u: &SandboxUser, custom_id: &str, values: &[(&str, &str)]) -> Value {
    let mut i = interaction_base(id, 5, token, u);
    let rows: Vec<Value> =
        values.iter().map(|(field, value)| json!({"type": 1, "components": [{"type": 4, "custom_id": field, "value": value}]})).collect();
    i["data"] = json!({"custom_id": custom_id, "components": rows});
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use poise::serenity_prelude as serenity;

    fn alice() -> SandboxUser {
        SandboxUser::new(500, "alice", &[super::super::roles::QA])
    }

    fn parses<T: serde::de::DeserializeOwned>(v: Value) {
        if let Err(e) = serde_json::from_value::<T>(v.clone()) {
            panic!("{} does not deserialize: {e}\n{v:#}", std::any::type_name::<T>());
        }
    }

    #[test]
    fn ready_deserializes_as_serenity_ready() {
        parses::<serenity::Ready>(ready("s", "ws://127.0.0.1:1"));
    }

    #[test]
    fn guild_create_deserializes_as_a_serenity_guild() {
        parses::<serenity::Guild>(guild_create(&[role(GUILD_ID, "@everyone", 0), role(7, "QA", 1)]));
    }

    #[test]
    fn messages_deserialize_as_serenity_messages() {
        parses::<serenity::Message>(message(1, CHANNEL_ID, bot_user(), "hi", &json!([]), &json!([]), false));
    }

    #[test]
    fn slash_commands_deserialize_as_command_interactions() {
        let v = slash_command(1, "t", 2, &alice(), "release", "create", &[("process", "p")]);
        parses::<serenity::Interaction>(v.clone());
        assert!(matches!(serde_json::from_value::<serenity::Interaction>(v), Ok(serenity::Interaction::Command(_))));
    }

    #[test]
    fn an_attached_file_deserializes_as_a_resolved_attachment() {
        let mut v = slash_command(1, "t", 2, &alice(), "process", "check", &[]);
        attach(&mut v, "file", 9, "p.yaml", 12, "http://127.0.0.1:1/attachments/9/p.yaml");
        let parsed = serde_json::from_value::<serenity::Interaction>(v);
        let Ok(serenity::Interaction::Command(c)) = parsed else { panic!("not a command: {parsed:?}") };
        let resolved = c.data.resolved.attachments.get(&serenity::AttachmentId::new(9)).map(|a| a.filename.clone());
        assert_eq!(resolved.as_deref(), Some("p.yaml"));
    }

    #[test]
    fn button_clicks_deserialize_as_component_interactions() {
        let m = message(1, CHANNEL_ID, bot_user(), "hi", &json!([]), &json!([]), false);
        let v = button_click(3, "t", &alice(), &m, "tm:approve:1:a");
        assert!(matches!(serde_json::from_value::<serenity::Interaction>(v), Ok(serenity::Interaction::Component(_))));
    }
}
