SELECT id, guild_id, name, process_json, inputs_json, status, reason, created_by, started_by, created_at
FROM releases WHERE id = ?
