-- Completes claimed rows (one, or a batch of results' at once), fenced: only a claim that is
-- still current completes its row.
-- ?1 now (unix ms), ?2 a JSON array of [id, claims]. Returns the ids completed.
-- The rows are found by id first (the IN list), so only they are compared with their claims.
UPDATE outbox SET done_at = ?1, lease_until = NULL, last_error = NULL
WHERE id IN (SELECT json_extract(value, '$[0]') FROM json_each(?2))
  AND done_at IS NULL
  AND claims = (SELECT json_extract(value, '$[1]') FROM json_each(?2) WHERE json_extract(value, '$[0]') = outbox.id)
RETURNING id
