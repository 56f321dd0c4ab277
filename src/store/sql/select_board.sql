SELECT channel_id, message_id FROM boards WHERE guild_id = ?
