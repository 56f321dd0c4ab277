-- NULL when nothing is waiting.
SELECT MIN(MAX(available_at, COALESCE(lease_until, 0))) AS "due?: i64" FROM outbox WHERE topic = ? AND done_at IS NULL
