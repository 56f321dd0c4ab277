-- The servers that have ended releases not archived yet.
SELECT DISTINCT guild_id FROM releases
WHERE archived_at IS NULL AND status IN ('Success', 'PartialSuccess', 'Failed', 'Aborted')
