-- Delegations of a guild that have not ended or been revoked, given by (?2) or to (?3) a user;
-- ?4 is now (RFC 3339, comparable as text: every stored time is UTC with the same format).
SELECT id, from_json, to_user, to_name, process, until
FROM delegations
WHERE guild_id = ?1 AND revoked_at IS NULL AND until > ?4
  AND (from_user = ?2 OR to_user = ?3)
ORDER BY until, id
