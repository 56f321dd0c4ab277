-- Every server's deliveries that ended at or after ?1 (the metrics endpoint's window).
SELECT guild_id, release_id, process, kind, service, version, environment, outcome, created_at, changed_at, delivered_at, rolled_back_to
FROM deliveries WHERE delivered_at >= ?1
ORDER BY delivered_at, release_id
