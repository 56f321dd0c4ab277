-- A server's delivery history, optionally for one service, environment and process, in [from, to).
SELECT release_id, process, kind, service, version, environment, outcome, created_at, changed_at, delivered_at, rolled_back_to
FROM deliveries
WHERE guild_id = ?1 AND (?2 IS NULL OR service = ?2) AND (?3 IS NULL OR environment = ?3) AND (?4 IS NULL OR process = ?4)
  AND delivered_at >= ?5 AND delivered_at < ?6
ORDER BY delivered_at, release_id
