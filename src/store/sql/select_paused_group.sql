SELECT paused_by, paused_at FROM paused_groups WHERE guild_id = ? AND process = ?
