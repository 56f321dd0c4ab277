//! Boundaries between servers. Process files are shared by every server the bot is in, and a
//! process names its channels by id, so nothing in the file ties a channel to a server: a
//! release of server B could post into server A. Two rules keep releases in their server:
//! a process may name the servers that use it (`guilds:`), and every channel a release posts to
//! must belong to the release's server, as the gateway reports it. Both are checked when a
//! release is created and started; the notifier checks each destination again before posting.

use super::{Engine, EngineError};
use crate::domain::{ChannelId, GuildId, Process};
use std::sync::{Arc, OnceLock};

/// Which server a channel belongs to, as the chat adapter knows it (Discord: the gateway cache).
pub trait ChannelDirectory: Send + Sync {
    /// `None` when the channel is unknown: deleted, in a server the bot is not in, or in one
    /// the gateway has not described yet.
    fn guild_of(&self, channel: ChannelId) -> Option<GuildId>;

    /// Whether every server the bot is in has been described (right after connecting, the
    /// gateway sends them one by one): only then does "unknown" mean "not in this server".
    fn complete(&self) -> bool;

    /// Whether the bot is in server `guild` (as far as described so far).
    fn has_guild(&self, guild: GuildId) -> bool;
}

/// Set once the chat adapter is connected; shared by every clone of the engine.
pub(super) type DirectorySlot = Arc<OnceLock<Arc<dyn ChannelDirectory>>>;

impl Engine {
    /// Tells the engine where channels live. Without a directory (an engine driven without a
    /// chat adapter) channels are not checked.
    pub fn set_channel_directory(&self, directory: Arc<dyn ChannelDirectory>) {
        let _ = self.directory.set(directory);
    }

    /// The server `channel` belongs to, when the chat adapter knows it.
    pub fn guild_of_channel(&self, channel: ChannelId) -> Option<GuildId> {
        self.directory.get().and_then(|d| d.guild_of(channel))
    }

    /// Whether every server the bot is in has been described (true without a directory: then
    /// nothing is checked).
    pub fn channels_complete(&self) -> bool {
        self.directory.get().is_none_or(|d| d.complete())
    }

    /// Refuses a CI trigger for `guild` unless the bot is in it and configuration allows
    /// triggers there (`trigger_guilds`; unset: every server the bot is in).
    pub(super) fn may_trigger_in(&self, guild: GuildId) -> Result<(), String> {
        if let Some(allowed) = &self.trigger_guilds {
            if !allowed.contains(&guild) {
                return Err(format!("triggers are not allowed for server {guild}: add it to `trigger_guilds` in trainmaster.toml"));
            }
        }
        match self.directory.get() {
            Some(directory) if !directory.has_guild(guild) && directory.complete() => {
                Err(format!("the bot is not in server {guild}; invite it there first, or check `guild_id`"))
            }
            _ => Ok(()),
        }
    }

    /// The processes server `guild` may use, by name (borrowed: autocomplete asks on every key).
    pub fn processes_for(&self, guild: GuildId) -> impl Iterator<Item = &Process> {
        self.catalog().values().filter(move |p| p.available_in(guild))
    }

    /// Process `name`, when server `guild` may use it: elsewhere it is as unknown as a typo.
    pub fn process_for(&self, guild: GuildId, name: &str) -> Option<&Process> {
        self.catalog().get(name).filter(|p| p.available_in(guild))
    }

    /// Refuses a release of `process` in server `guild` that would post outside it.
    pub(super) fn check_channels(&self, guild: GuildId, process: &Process) -> Result<(), EngineError> {
        let Some(directory) = self.directory.get() else { return Ok(()) };
        let processes = std::iter::once(process).chain(process.children.values());
        for (owner, channel) in processes.flat_map(|p| p.channels().into_iter().map(move |c| (&p.name, c))) {
            match directory.guild_of(channel) {
                Some(home) if home == guild => {}
                // Not described yet: the notifier checks again before it posts anything.
                None if !directory.complete() => {}
                found => {
                    return Err(EngineError::ForeignChannel { process: owner.clone(), channel, elsewhere: found.is_some() });
                }
            }
        }
        Ok(())
    }
}
