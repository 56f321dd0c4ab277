-- Claims up to ?4 due rows of a topic whose lease is free or expired (a batch of results claims
-- one per worker): hotfix work first, then the earliest. A release's chat messages (keys
-- `<release>/chat/<n>`) go out in the order they were queued: one waits while an earlier one of
-- its release is undelivered (being retried after an error, say), so a thread never reads out of
-- order. Card redraws are not held.
UPDATE outbox
SET lease_until = ?2 + ?3, claims = claims + 1
WHERE id IN (
    SELECT o.id FROM outbox o
    WHERE o.topic = ?1 AND o.done_at IS NULL AND o.available_at <= ?2
      AND (o.lease_until IS NULL OR o.lease_until <= ?2)
      AND NOT (o.topic = 'chat' AND instr(o.key, '/chat/') > 0 AND EXISTS (
          SELECT 1 FROM outbox e
          WHERE e.release_id = o.release_id AND e.topic = 'chat' AND e.id < o.id AND e.done_at IS NULL
            AND instr(e.key, '/chat/') > 0
      ))
    ORDER BY o.priority DESC, o.available_at, o.id
    LIMIT ?4
)
RETURNING id, key, release_id, payload_json, claims
