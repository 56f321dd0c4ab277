-- Archives server ?1's releases that ended before ?2 (their last change, RFC 3339): they leave
-- lists, the board and the calendar. Releases still active are never archived.
UPDATE releases SET archived_at = ?3
WHERE guild_id = ?1 AND archived_at IS NULL
  AND status IN ('Success', 'PartialSuccess', 'Failed', 'Aborted')
  AND updated_at < ?2
RETURNING id
