-- Asks for server ?1's board to be redrawn, coalesced like a card: nothing is added while a redraw
-- waits to be claimed, and one comes at least ?4 ms after the last edit. No board, no row.
-- ?2 payload, ?3 now (unix ms).
INSERT INTO outbox (topic, key, release_id, payload_json, available_at, priority)
SELECT 'chat',
       'board/' || ?1 || '/' || (SELECT COUNT(*) + 1 FROM outbox WHERE release_id IS NULL AND topic = 'chat' AND key LIKE 'board/' || ?1 || '/%'),
       NULL, ?2,
       MAX(?3, (SELECT drawn_at FROM boards WHERE guild_id = ?1) + ?4),
       0
WHERE EXISTS (SELECT 1 FROM boards WHERE guild_id = ?1)
  AND NOT EXISTS (
    SELECT 1 FROM outbox
    WHERE release_id IS NULL AND topic = 'chat' AND key LIKE 'board/' || ?1 || '/%' AND done_at IS NULL AND lease_until IS NULL
)
