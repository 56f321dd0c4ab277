DELETE FROM paused_groups WHERE guild_id = ? AND process = ?
