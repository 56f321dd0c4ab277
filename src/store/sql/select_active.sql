-- A server's releases a board shows: running, on hold, and planned to start before ?2.
SELECT id FROM releases
WHERE guild_id = ?1 AND archived_at IS NULL
  AND (status IN ('Running', 'OnHold') OR (status = 'NotStarted' AND planned_at < ?2))
ORDER BY CASE status WHEN 'OnHold' THEN 0 WHEN 'Running' THEN 1 ELSE 2 END, COALESCE(planned_at, ''), id
LIMIT 200
