-- Claims a due row of a topic whose lease is free or expired: hotfix work first, then the
-- earliest.
UPDATE outbox
SET lease_until = ?2 + ?3, claims = claims + 1
WHERE id = (
    SELECT id FROM outbox
    WHERE topic = ?1 AND done_at IS NULL AND available_at <= ?2
      AND (lease_until IS NULL OR lease_until <= ?2)
    ORDER BY priority DESC, available_at, id
    LIMIT 1
)
RETURNING id, key, release_id, payload_json, claims
