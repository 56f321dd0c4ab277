-- The version a service runs in an environment now: its latest delivery (a rollback's target).
SELECT CASE WHEN outcome = 'rolled_back' THEN rolled_back_to ELSE version END AS "version?: String"
FROM deliveries WHERE guild_id = ? AND service = ? AND environment = ?
ORDER BY delivered_at DESC, release_id DESC LIMIT 1
