INSERT INTO delegations (guild_id, from_user, from_json, to_user, to_name, process, until, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id
