-- A server's releases planned to start in [?2, ?3), earliest first (the calendar, conflicts).
SELECT id FROM releases
WHERE guild_id = ?1 AND archived_at IS NULL AND planned_at IS NOT NULL AND planned_at >= ?2 AND planned_at < ?3
ORDER BY planned_at, id
LIMIT 500
