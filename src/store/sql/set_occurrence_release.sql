UPDATE group_occurrences SET release_id = ? WHERE guild_id = ? AND process = ? AND occurrence = ?
