-- How many advance-notice rows a release has had: the next one's key.
SELECT COUNT(*) AS "n!: i64" FROM outbox WHERE release_id = ? AND key LIKE '%/advance/%'
