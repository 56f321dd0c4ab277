//! A local Discord-compatible server: a REST v10 subset and a gateway. The bot connects to it
//! exactly as to Discord (pointed here by `TRAINMASTER_DISCORD_API`); tests and `trainmaster demo`
//! drive it: type slash commands, click buttons, read channels and every recorded request.

mod gateway;
pub mod payloads;
pub mod receiver;
mod rest;
mod transcript;
pub use transcript::Said;

use anyhow::{anyhow, Context as _};
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

pub const GUILD_ID: u64 = 200_000_000_000_000_001;
/// The channel the example processes post their notices to.
pub const CHANNEL_ID: u64 = 100_000_000_000_000_001;
pub const APPLICATION_ID: u64 = 300_000_000_000_000_001;
/// A second server the bot is in, with a channel of its own: for tests of the boundary between
/// servers (a release of one must never post into the other).
pub const OTHER_GUILD_ID: u64 = 200_000_000_000_000_002;
pub const OTHER_CHANNEL_ID: u64 = 100_000_000_000_000_002;
/// A second channel of the sandbox server, where people type commands (`SandboxUser::in_channel`).
pub const COMMANDS_CHANNEL_ID: u64 = 100_000_000_000_000_003;
/// Any token works with the sandbox.
pub const TOKEN: &str = "sandbox-token";

/// Role ids of the sandbox guild.
pub mod roles {
    pub const RELEASE_MANAGERS: u64 = 400_000_000_000_000_001;
    pub const QA: u64 = 400_000_000_000_000_002;
    pub const DEVELOPERS: u64 = 400_000_000_000_000_003;
    pub const SECURITY: u64 = 400_000_000_000_000_004;
    pub const ALL: [(u64, &str); 4] =
        [(RELEASE_MANAGERS, "Release Managers"), (QA, "QA"), (DEVELOPERS, "Developers"), (SECURITY, "Security")];
}

/// How long a driver call waits for the bot before it gives up with an error.
pub const WAIT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq)]
pub struct SandboxUser {
    pub id: u64,
    pub name: String,
    pub roles: Vec<u64>,
    /// The server the person acts in; the sandbox guild unless `in_guild` says otherwise.
    pub guild_id: u64,
    /// The channel the person types in; the server's notices channel unless `in_channel` says
    /// otherwise.
    pub channel_id: Option<u64>,
}

impl SandboxUser {
    pub fn new(id: u64, name: &str, roles: &[u64]) -> Self {
        Self { id, name: name.into(), roles: roles.to_vec(), guild_id: GUILD_ID, channel_id: None }
    }

    /// The same person typing in `channel` of their server.
    pub fn in_channel(mut self, channel: u64) -> Self {
        self.channel_id = Some(channel);
        self
    }

    /// The same person acting from another server (for isolation tests).
    pub fn in_guild(mut self, guild_id: u64) -> Self {
        self.guild_id = guild_id;
        self
    }
}

/// One REST request the bot made.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// The path after `/api/v10`, without the query.
    pub path: String,
    pub body: Option<Value>,
}

/// What can go wrong with a gateway connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayFault {
    /// Op 7: Discord asks the bot to reconnect (and resume).
    Reconnect,
    /// Op 9: the session is invalid; `resumable` says whether it may resume.
    InvalidSession { resumable: bool },
    /// The socket ends without a close frame, as when a network path dies.
    Drop,
}

/// A message as stored in a channel.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub id: u64,
    pub channel_id: u64,
    pub json: Value,
}

impl StoredMessage {
    pub fn content(&self) -> &str {
        self.json["content"].as_str().unwrap_or_default()
    }

    /// Custom ids and labels of the message's buttons.
    pub fn buttons(&self) -> Vec<(String, String)> {
        buttons_of(&self.json)
    }

    /// Content and embed text together, as people read them.
    pub fn text(&self) -> String {
        text_of(&self.json)
    }

    /// Labels of the message's buttons that cannot be clicked.
    pub fn disabled_buttons(&self) -> Vec<String> {
        components_of(&self.json)
            .into_iter()
            .filter(|b| b["disabled"].as_bool() == Some(true))
            .map(|b| b["label"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

/// Content and embed text of a message or answer, for assertions people can read.
fn text_of(json: &Value) -> String {
    let mut out = json["content"].as_str().unwrap_or_default().to_string();
    for embed in json["embeds"].as_array().cloned().unwrap_or_default() {
        out.push('\n');
        out.push_str(embed["title"].as_str().unwrap_or_default());
        if let Some(description) = embed["description"].as_str() {
            out.push('\n');
            out.push_str(description);
        }
        for field in embed["fields"].as_array().cloned().unwrap_or_default() {
            out.push_str(&format!("\n{}: {}", field["name"].as_str().unwrap_or_default(), field["value"].as_str().unwrap_or_default()));
        }
    }
    out
}

/// The components (buttons, text inputs) of a message, answer or modal, out of their rows.
fn components_of(json: &Value) -> Vec<Value> {
    let rows = json["components"].as_array().cloned().unwrap_or_default();
    rows.iter().flat_map(|row| row["components"].as_array().cloned().unwrap_or_default()).collect()
}

/// The custom id of the button labelled `label`.
fn custom_id_by_label(json: &Value, label: &str) -> anyhow::Result<String> {
    let buttons = buttons_of(json);
    buttons.iter().find(|(_, l)| l == label).map(|(id, _)| id.clone()).ok_or_else(|| anyhow!("no button `{label}` among {buttons:?}"))
}

fn buttons_of(json: &Value) -> Vec<(String, String)> {
    components_of(json)
        .into_iter()
        .map(|b| (b["custom_id"].as_str().unwrap_or_default().to_string(), b["label"].as_str().unwrap_or_default().to_string()))
        .collect()
}

/// What the bot answered to an interaction (its callback, and later edits of it).
#[derive(Debug, Clone)]
pub struct Reply {
    pub kind: u64,
    pub data: Value,
    /// Whether the bot edited its original answer (how a deferred answer is completed).
    pub edited: bool,
    /// The message whose button was clicked, when this answers a click: Discord sends it again
    /// with the submit of a modal opened from it.
    pub origin: Option<Value>,
}

impl Reply {
    pub fn ephemeral(&self) -> bool {
        self.data["flags"].as_u64().unwrap_or(0) & 64 != 0
    }

    /// Content and embed text together, for assertions people can read.
    pub fn text(&self) -> String {
        text_of(&self.data)
    }
    /// Labels of the buttons on the answer, with whether each can be clicked.
    pub fn buttons(&self) -> Vec<(String, bool)> {
        components_of(&self.data)
            .into_iter()
            .map(|b| (b["label"].as_str().unwrap_or_default().to_string(), b["disabled"].as_bool() != Some(true)))
            .collect()
    }

    pub fn allowed_mentions(&self) -> &Value {
        &self.data["allowed_mentions"]
    }
}

#[derive(Default)]
struct World {
    next_id: u64,
    requests: Vec<RecordedRequest>,
    messages: Vec<StoredMessage>,
    replies: HashMap<u64, Reply>,
    /// Interaction tokens to ids, for the webhook-style follow-up routes.
    tokens: HashMap<String, u64>,
    command_ids: HashMap<String, u64>,
    /// The message each button click was on, by interaction id.
    clicked: HashMap<u64, Value>,
    /// Threads started from messages: thread id (the message's) to parent channel.
    threads: HashMap<u64, u64>,
    /// The commands as registered, for typing option values like Discord's client does.
    commands: HashMap<String, Value>,
    /// Files attached to slash commands, served like Discord's CDN at `/attachments/<id>/<name>`.
    attachments: HashMap<u64, Vec<u8>>,
    identifies: u32,
    gateway: Option<mpsc::UnboundedSender<String>>,
    sequence: u64,
    /// Answers to give instead of the real ones, for the next matching requests.
    faults: Vec<RestFault>,
    /// Direct-message channels opened by the bot: channel id to recipient.
    dms: HashMap<u64, u64>,
    /// The main guild stays unavailable (READY names it, no GUILD_CREATE follows), as during a
    /// Discord outage of that guild: the bot knows neither its channels nor its roles.
    withhold_guild: bool,
    /// The gateway is down: connections are refused (503) until it is back.
    gateway_down: bool,
}

/// `times` requests whose method is `method` and whose path contains `path` get `status`.
#[derive(Debug, Clone)]
struct RestFault {
    method: String,
    path: String,
    status: u16,
    times: u32,
}

pub(crate) struct Shared {
    world: Mutex<World>,
    /// Bumped on every change, so waiters re-check their condition.
    version: watch::Sender<u64>,
    addr: SocketAddr,
}

impl Shared {
    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn changed(&self) {
        self.version.send_modify(|v| *v += 1);
    }

    fn next_id(&self) -> u64 {
        let mut w = self.world();
        w.next_id += 1;
        900_000_000_000_000_000 + w.next_id
    }

    /// Sends a raw frame (or `gateway::DROP`) to the connected bot.
    fn send_frame(&self, frame: String) -> anyhow::Result<()> {
        let w = self.world();
        let gateway = w.gateway.as_ref().ok_or_else(|| anyhow!("the bot is not connected to the sandbox gateway"))?;
        gateway.send(frame).map_err(|_| anyhow!("the bot's gateway connection is closed"))
    }

    /// Sends a gateway dispatch (op 0) to the connected bot.
    fn dispatch(&self, event: &str, data: Value) -> anyhow::Result<()> {
        let mut w = self.world();
        w.sequence += 1;
        let frame = serde_json::json!({"op": 0, "s": w.sequence, "t": event, "d": data}).to_string();
        let gateway = w.gateway.as_ref().ok_or_else(|| anyhow!("the bot is not connected to the sandbox gateway"))?;
        gateway.send(frame).map_err(|_| anyhow!("the bot's gateway connection is closed"))
    }
}

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Sandbox {
    /// Starts on a free loopback port.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on(0).await
    }

    /// Starts on `port` of 127.0.0.1 (0: a free one).
    pub async fn start_on(port: u16) -> anyhow::Result<Self> {
        let listener =
            tokio::net::TcpListener::bind(("127.0.0.1", port)).await.with_context(|| format!("cannot bind the sandbox to port {port}"))?;
        let addr = listener.local_addr()?;
        let (version, _) = watch::channel(0);
        let shared = Arc::new(Shared { world: Mutex::new(World::default()), version, addr });
        let app = rest::router(shared.clone());
        let server = tokio::spawn(async move {
            let listener = NoDelayListener(listener);
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "sandbox server stopped");
            }
        });
        Ok(Self { shared, server })
    }

    /// The base URL to give the bot as `TRAINMASTER_DISCORD_API`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// Waits until `check` finds what it looks for in the sandbox's state.
    async fn wait_for<T>(&self, what: &str, check: impl Fn(&World) -> Option<T>) -> anyhow::Result<T> {
        wait_until(&self.shared.version, what, || check(&self.shared.world())).await
    }

    /// Waits until the bot has identified `times` times in all and registered its commands.
    pub async fn wait_ready(&self, times: u32) -> anyhow::Result<()> {
        self.wait_for("the bot to connect and register its commands", |w| {
            (w.identifies >= times && !w.command_ids.is_empty() && w.gateway.is_some()).then_some(())
        })
        .await
    }

    /// A new interaction's id and token, registered for the bot's follow-up calls.
    fn new_interaction(&self) -> (u64, String) {
        let id = self.shared.next_id();
        let token = format!("token-{id}");
        self.shared.world().tokens.insert(token.clone(), id);
        (id, token)
    }

    fn command_id(&self, command: &str) -> anyhow::Result<u64> {
        self.shared.world().command_ids.get(command).copied().ok_or_else(|| anyhow!("the bot registered no command `{command}`"))
    }

    /// Types `/command subcommand opt:value…` as `user` and returns the bot's answer.
    pub async fn slash(&self, user: &SandboxUser, command: &str, subcommand: &str, options: &[(&str, &str)]) -> anyhow::Result<Reply> {
        let command_id = self.command_id(command)?;
        let (id, token) = self.new_interaction();
        let mut payload = payloads::slash_command(id, &token, command_id, user, command, subcommand, options);
        let registered = self.shared.world().commands.get(command).cloned().unwrap_or_default();
        payloads::type_options(&mut payload, &registered)?;
        self.shared.dispatch("INTERACTION_CREATE", payload)?;
        self.reply_to(id).await
    }

    /// Troubles the bot's gateway connection as Discord sometimes does; the bot must connect
    /// again (see `wait_ready`).
    pub fn gateway_fault(&self, fault: GatewayFault) -> anyhow::Result<()> {
        match fault {
            GatewayFault::Reconnect => self.shared.send_frame(serde_json::json!({"op": 7, "d": null}).to_string()),
            GatewayFault::InvalidSession { resumable } => self.shared.send_frame(serde_json::json!({"op": 9, "d": resumable}).to_string()),
            GatewayFault::Drop => self.shared.send_frame(gateway::DROP.to_string()),
        }
    }

    /// The next `times` REST requests `method` … `path` (a part of the path after `/api/v10`)
    /// are answered with `status` and Discord's body for it: 429 with `retry_after`, 403
    /// Missing Permissions (50013), or a bare 5xx.
    pub fn fail_next(&self, method: &str, path: &str, status: u16, times: u32) {
        self.shared.world().faults.push(RestFault { method: method.into(), path: path.into(), status, times });
    }

    /// A gateway outage: the current connection ends and new ones are refused until
    /// `gateway_outage(false)`.
    pub fn gateway_outage(&self, down: bool) {
        self.shared.world().gateway_down = down;
        if down {
            let _ = self.shared.send_frame(gateway::DROP.to_string());
        }
    }

    /// From the next IDENTIFY on, the sandbox guild is not described (see `World::withhold_guild`).
    pub fn withhold_guild_create(&self) {
        self.shared.world().withhold_guild = true;
    }

    /// Messages sent to `user` in direct messages.
    pub fn direct_messages(&self, user: u64) -> Vec<StoredMessage> {
        let w = self.shared.world();
        w.messages.iter().filter(|m| w.dms.get(&m.channel_id) == Some(&user)).cloned().collect()
    }

    /// How many times the bot has identified (or resumed) so far.
    pub fn identifies(&self) -> u32 {
        self.shared.world().identifies
    }

    /// Types `partial` into `option` of `/command subcommand` as `user`, as Discord's client does
    /// while someone types, and returns the suggested choices as (name, value).
    pub async fn autocomplete(
        &self,
        user: &SandboxUser,
        command: &str,
        subcommand: &str,
        option: &str,
        partial: &str,
    ) -> anyhow::Result<Vec<(String, String)>> {
        self.autocomplete_after(user, command, subcommand, &[], option, partial).await
    }

    /// Like `autocomplete`, with `filled` options already typed, as Discord sends them along.
    pub async fn autocomplete_after(
        &self,
        user: &SandboxUser,
        command: &str,
        subcommand: &str,
        filled: &[(&str, &str)],
        option: &str,
        partial: &str,
    ) -> anyhow::Result<Vec<(String, String)>> {
        let command_id = self.command_id(command)?;
        let (id, token) = self.new_interaction();
        let mut options = filled.to_vec();
        options.push((option, partial));
        let mut payload = payloads::slash_command(id, &token, command_id, user, command, subcommand, &options);
        payload["type"] = serde_json::json!(4);
        payload["data"]["options"][0]["options"][filled.len()]["focused"] = serde_json::json!(true);
        self.shared.dispatch("INTERACTION_CREATE", payload)?;
        let reply = self.reply_to(id).await?;
        anyhow::ensure!(reply.kind == 8, "the bot answered autocomplete with type {}", reply.kind);
        Ok(reply.data["choices"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or_default().to_string(),
                    c["value"].as_str().map(String::from).unwrap_or_else(|| c["value"].to_string()),
                )
            })
            .collect())
    }

    /// Types `/command subcommand` with `option` set to an uploaded file `filename` holding `bytes`.
    pub async fn slash_with_file(
        &self,
        user: &SandboxUser,
        command: &str,
        subcommand: &str,
        option: &str,
        filename: &str,
        bytes: &[u8],
    ) -> anyhow::Result<Reply> {
        let command_id = self.command_id(command)?;
        let (id, token) = self.new_interaction();
        let attachment_id = self.shared.next_id();
        self.shared.world().attachments.insert(attachment_id, bytes.to_vec());
        let url = format!("{}/attachments/{attachment_id}/{filename}", self.base_url());
        let mut payload = payloads::slash_command(id, &token, command_id, user, command, subcommand, &[]);
        payloads::attach(&mut payload, option, attachment_id, filename, bytes.len(), &url);
        self.shared.dispatch("INTERACTION_CREATE", payload)?;
        self.reply_to(id).await
    }

    /// Clicks the button `custom_id` of `message` as `user` and returns the bot's answer.
    pub async fn click(&self, user: &SandboxUser, message: &StoredMessage, custom_id: &str) -> anyhow::Result<Reply> {
        let (id, token) = self.new_interaction();
        self.shared.world().clicked.insert(id, message.json.clone());
        self.shared.dispatch("INTERACTION_CREATE", payloads::button_click(id, &token, user, &message.json, custom_id))?;
        self.reply_to(id).await
    }

    /// Clicks the button labelled `label` on the bot's answer `reply` (an ephemeral message, which
    /// no channel stores) as `user`.
    pub async fn click_reply(&self, user: &SandboxUser, reply: &Reply, label: &str) -> anyhow::Result<Reply> {
        let mut json = rest::reply_message(&reply.data);
        // Discord gives ephemeral messages ids too; serenity refuses id 0.
        let id = self.shared.next_id();
        json["id"] = serde_json::json!(id.to_string());
        let custom_id = custom_id_by_label(&json, label)?;
        self.click(user, &StoredMessage { id, channel_id: CHANNEL_ID, json }, &custom_id).await
    }

    /// Fills in and submits the modal the bot answered with (`modal`, a type 9 answer) as `user`.
    /// Like Discord's client, refuses fields the modal does not have and required ones left empty
    /// or shorter than their `min_length`.
    pub async fn submit_modal(&self, user: &SandboxUser, modal: &Reply, values: &[(&str, &str)]) -> anyhow::Result<Reply> {
        anyhow::ensure!(modal.kind == 9, "the bot answered with no modal: {:?}", modal.data);
        let inputs = components_of(&modal.data);
        for (field, _) in values {
            anyhow::ensure!(inputs.iter().any(|i| i["custom_id"] == *field), "the modal has no field `{field}`");
        }
        for input in &inputs {
            let given = values.iter().find(|(f, _)| input["custom_id"] == *f).map(|(_, v)| *v).unwrap_or_default();
            let min = input["min_length"].as_u64().unwrap_or(0) as usize;
            let required = input["required"].as_bool().unwrap_or(true);
            anyhow::ensure!(
                !required || given.chars().count() >= min.max(1),
                "field `{}` needs at least {min} characters",
                input["custom_id"]
            );
        }
        let (id, token) = self.new_interaction();
        let custom_id = modal.data["custom_id"].as_str().unwrap_or_default();
        let mut payload = payloads::modal_submit(id, &token, user, custom_id, values);
        if let Some(message) = &modal.origin {
            payload["message"] = message.clone();
        }
        self.shared.dispatch("INTERACTION_CREATE", payload)?;
        self.reply_to(id).await
    }

    /// Clicks the button labelled `label` on `message`.
    pub async fn click_label(&self, user: &SandboxUser, message: &StoredMessage, label: &str) -> anyhow::Result<Reply> {
        let custom_id = custom_id_by_label(&message.json, label).with_context(|| format!("message {}", message.id))?;
        self.click(user, message, &custom_id).await
    }

    async fn reply_to(&self, interaction: u64) -> anyhow::Result<Reply> {
        self.wait_for("the bot to answer the interaction", |w| {
            // A deferred answer (type 5) is complete once its original message is edited.
            w.replies.get(&interaction).filter(|r| r.kind != 5 || r.edited).cloned()
        })
        .await
    }

    /// Messages of a channel, oldest first.
    pub fn messages(&self, channel_id: u64) -> Vec<StoredMessage> {
        self.shared.world().messages.iter().filter(|m| m.channel_id == channel_id).cloned().collect()
    }

    /// Waits for a message in `channel_id` whose content contains `needle`.
    pub async fn wait_for_message(&self, channel_id: u64, needle: &str) -> anyhow::Result<StoredMessage> {
        self.wait_for_nth_message(channel_id, needle, 1).await
    }

    /// Waits for a message whose content contains `needle` in a thread of `channel_id` (the
    /// release threads under the cards).
    pub async fn wait_for_thread_message(&self, channel_id: u64, needle: &str) -> anyhow::Result<StoredMessage> {
        self.wait_for_nth_thread_message(channel_id, needle, 1).await
    }

    /// Like `wait_for_thread_message`, for the `n`th such message (1-based).
    pub async fn wait_for_nth_thread_message(&self, channel_id: u64, needle: &str, n: usize) -> anyhow::Result<StoredMessage> {
        self.wait_for(&format!("thread message {n} containing {needle:?}"), |w| {
            w.messages
                .iter()
                .filter(|m| {
                    w.threads.get(&m.channel_id) == Some(&channel_id) && m.json["content"].as_str().is_some_and(|c| c.contains(needle))
                })
                .nth(n.saturating_sub(1))
                .cloned()
        })
        .await
    }

    /// Waits for a message in `channel_id` whose first embed's title contains `prefix`, like a
    /// release card (`✅ Release 1 · …`).
    pub async fn wait_for_embed(&self, channel_id: u64, prefix: &str) -> anyhow::Result<StoredMessage> {
        self.wait_for(&format!("an embed titled {prefix:?}…"), |w| {
            w.messages
                .iter()
                .find(|m| m.channel_id == channel_id && m.json["embeds"][0]["title"].as_str().is_some_and(|t| t.contains(prefix)))
                .cloned()
        })
        .await
    }

    /// Ids of the threads started under messages of `channel_id`, oldest first.
    pub fn threads(&self, channel_id: u64) -> Vec<u64> {
        let w = self.shared.world();
        let mut threads: Vec<u64> = w.threads.iter().filter(|(_, parent)| **parent == channel_id).map(|(id, _)| *id).collect();
        threads.sort();
        threads
    }

    /// Waits for the `n`th message (1-based) in `channel_id` whose content contains `needle`.
    pub async fn wait_for_nth_message(&self, channel_id: u64, needle: &str, n: usize) -> anyhow::Result<StoredMessage> {
        self.wait_for(&format!("message {n} containing {needle:?}"), |w| {
            w.messages
                .iter()
                .filter(|m| m.channel_id == channel_id && m.json["content"].as_str().is_some_and(|c| c.contains(needle)))
                .nth(n.saturating_sub(1))
                .cloned()
        })
        .await
    }

    /// Waits until message `id` (as edited since) satisfies `check`.
    pub async fn wait_for_edit(&self, id: u64, what: &str, check: impl Fn(&StoredMessage) -> bool) -> anyhow::Result<StoredMessage> {
        self.wait_for(&format!("message {id} to be edited: {what}"), |w| w.messages.iter().find(|m| m.id == id && check(m)).cloned()).await
    }

    /// Every REST request the bot sent so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.world().requests.clone()
    }
}

/// Re-runs `check` each time `version` changes until it finds something, for at most `WAIT`.
/// Waiting on changes, not sleeping, keeps tests fast and never guesses at timing.
pub(crate) async fn wait_until<T>(version: &watch::Sender<u64>, what: &str, check: impl Fn() -> Option<T>) -> anyhow::Result<T> {
    let mut changes = version.subscribe();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(found) = check() {
            return Ok(found);
        }
        if !matches!(tokio::time::timeout_at(deadline, changes.changed()).await, Ok(Ok(()))) {
            return Err(anyhow!("timed out after {WAIT:?} waiting for {what}"));
        }
    }
}

/// Accepts connections with TCP_NODELAY set: without it, Nagle's algorithm stalls small
/// request/response exchanges by ~40 ms.
struct NoDelayListener(tokio::net::TcpListener);

impl axum::serve::Listener for NoDelayListener {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (stream, addr);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "sandbox accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl Reply {
    /// The first embed's footer text.
    pub fn footer(&self) -> String {
        self.data["embeds"][0]["footer"]["text"].as_str().unwrap_or_default().to_string()
    }

    /// The release a card answer shows, as its footer names it (`Release 12 · …`).
    pub fn release_id(&self) -> Option<String> {
        let footer = self.footer();
        let id = footer.strip_prefix("Release ")?.split(' ').next()?;
        id.parse::<u64>().ok().map(|id| id.to_string())
    }

    /// The state a card answer shows, in words, as its footer names it (`Release 12 · Shipped · …`).
    pub fn state(&self) -> Option<String> {
        self.footer().split(" · ").nth(1).map(String::from)
    }

    /// The first embed's title: a card's headline.
    pub fn title(&self) -> String {
        self.data["embeds"][0]["title"].as_str().unwrap_or_default().to_string()
    }

    /// The value of the embed field called `name`, if the reply has one.
    pub fn field(&self, name: &str) -> Option<String> {
        self.data["embeds"]
            .as_array()?
            .iter()
            .flat_map(|e| e["fields"].as_array().cloned().unwrap_or_default())
            .find(|f| f["name"].as_str() == Some(name))
            .and_then(|f| f["value"].as_str().map(String::from))
    }
}
