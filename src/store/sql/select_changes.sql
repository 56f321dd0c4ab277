-- What DORA figures need of server ?1's deliveries that ended in [?5, ?6): no versions or names.
SELECT release_id, kind, service, environment, outcome, created_at, delivered_at
FROM deliveries
WHERE guild_id = ?1 AND (?2 IS NULL OR service = ?2) AND (?3 IS NULL OR environment = ?3) AND (?4 IS NULL OR process = ?4)
  AND delivered_at >= ?5 AND delivered_at < ?6
ORDER BY delivered_at, release_id
