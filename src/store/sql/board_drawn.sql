UPDATE boards SET message_id = ?2, drawn_at = ?3 WHERE guild_id = ?1 AND channel_id = ?4
