-- One page of a guild's releases, newest first, with the number that match in all.
-- ?1 guild, ?2 status or NULL, ?3 process name or NULL, ?4 user (created or started) or NULL,
-- ?5 page size, ?6 offset.
SELECT id, name, process_name, status, created_at, COUNT(*) OVER () AS total
FROM releases
WHERE guild_id = ?1 AND archived_at IS NULL
  AND (?2 IS NULL OR status = ?2)
  AND (?3 IS NULL OR process_name = ?3)
  AND (?4 IS NULL OR created_by = ?4 OR started_by = ?4)
ORDER BY id DESC
LIMIT ?5 OFFSET ?6
