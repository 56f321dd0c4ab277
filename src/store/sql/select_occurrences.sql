-- The occurrences of a release group at or after a time (keys sort as times), with their releases.
SELECT o.occurrence, o.release_id, r.status AS "status?: String", r.name AS "name?: String"
FROM group_occurrences o LEFT JOIN releases r ON r.id = o.release_id
WHERE o.guild_id = ? AND o.process = ? AND o.occurrence >= ?
ORDER BY o.occurrence
LIMIT 60
