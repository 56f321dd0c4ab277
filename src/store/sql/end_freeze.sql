UPDATE freezes SET ended_at = ?, ended_by = ? WHERE id = ? AND guild_id = ? AND ended_at IS NULL
RETURNING freeze_json
