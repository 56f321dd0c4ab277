-- NULL when nothing is waiting. A chat message held behind an earlier one of its release (see
-- claim_outbox.sql) is due when that one is, so it is not counted on its own.
SELECT MIN(MAX(o.available_at, COALESCE(o.lease_until, 0))) AS "due?: i64" FROM outbox o
WHERE o.topic = ? AND o.done_at IS NULL
  AND NOT (o.topic = 'chat' AND instr(o.key, '/chat/') > 0 AND EXISTS (
      SELECT 1 FROM outbox e
      WHERE e.release_id = o.release_id AND e.topic = 'chat' AND e.id < o.id AND e.done_at IS NULL
        AND instr(e.key, '/chat/') > 0
  ))
