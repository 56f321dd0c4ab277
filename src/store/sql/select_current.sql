-- The latest delivery of each service in each environment of server ?1, optionally for one
-- service and environment: the distinct targets from deliveries_by_target, then each one's
-- newest row by the same index.
WITH targets AS (
    SELECT DISTINCT service, environment FROM deliveries
    WHERE guild_id = ?1 AND (?2 IS NULL OR service = ?2) AND (?3 IS NULL OR environment = ?3)
)
SELECT d.release_id, d.process, d.kind, d.service, d.version, d.environment, d.outcome, d.created_at, d.changed_at, d.delivered_at, d.rolled_back_to
FROM targets t
JOIN deliveries d ON d.id = (
    SELECT e.id FROM deliveries e
    WHERE e.guild_id = ?1 AND e.service = t.service AND e.environment = t.environment
    ORDER BY e.delivered_at DESC, e.release_id DESC LIMIT 1
)
