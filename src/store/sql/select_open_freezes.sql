-- A server's freezes added in chat that nobody ended (past ones are filtered by their window).
SELECT id, freeze_json, created_by, reason FROM freezes WHERE guild_id = ? AND ended_at IS NULL ORDER BY id
