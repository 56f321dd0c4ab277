INSERT INTO freezes (guild_id, freeze_json, created_by, reason, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id
