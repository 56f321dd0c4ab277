-- Revokes what a user (?2) delegated in a guild (?1): to one person (?3), or to everyone when NULL.
UPDATE delegations SET revoked_at = ?4
WHERE guild_id = ?1 AND from_user = ?2 AND (?3 IS NULL OR to_user = ?3) AND revoked_at IS NULL AND until > ?4
RETURNING id, from_json, to_user, to_name, process, until
