INSERT INTO paused_groups (guild_id, process, paused_by, paused_at) VALUES (?, ?, ?, ?)
ON CONFLICT (guild_id, process) DO NOTHING
