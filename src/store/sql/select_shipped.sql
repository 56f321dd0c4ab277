-- What DORA figures need of a server's deliveries in [?5, ?6) (optionally one service,
-- environment and process), as ONE JSON text: sqlx hands rows one by one to the async side,
-- which costs more than the query for a year's ~50,000 rows; one value crosses once.
SELECT json_group_array(json_array(release_id, kind, service, environment, outcome, coalesce(changed_at, created_at), delivered_at)) AS "rows!: String"
FROM deliveries
WHERE guild_id = ?1 AND (?2 IS NULL OR service = ?2) AND (?3 IS NULL OR environment = ?3) AND (?4 IS NULL OR process = ?4)
  AND delivered_at >= ?5 AND delivered_at < ?6
