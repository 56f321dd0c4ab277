//! Discord's ids of a server (guild) and a channel, kept Discord-free in the domain like
//! `UserId`. Distinct types, so a server id cannot go where a channel id belongs; serialized as
//! the bare number, so stored processes and outbox rows read the same as before they existed.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A Discord server (guild) id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GuildId(pub u64);

/// A Discord channel id (threads are channels too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChannelId(pub u64);

impl fmt::Display for GuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stored_as_the_bare_numbers_they_were() {
        assert_eq!(serde_json::to_string(&GuildId(7)).ok().as_deref(), Some("7"));
        assert_eq!(serde_json::from_str::<ChannelId>("9").ok(), Some(ChannelId(9)));
    }
}
