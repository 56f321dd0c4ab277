-- Asks for the release card to be redrawn, coalesced: nothing is added while a redraw is still
-- waiting to be claimed (it will draw the latest state), and a redraw comes at least ?4 ms after
-- the last edit. ?1 release, ?2 payload, ?3 now (unix ms), ?4 the gap.
INSERT INTO outbox (topic, key, release_id, payload_json, available_at, priority)
SELECT 'chat',
       ?1 || '/card/' || (SELECT COUNT(*) + 1 FROM outbox WHERE release_id = ?1 AND topic = 'chat' AND key LIKE ?1 || '/card/%'),
       ?1, ?2,
       MAX(?3, COALESCE((SELECT edited_at FROM release_cards WHERE release_id = ?1), 0) + ?4),
       0
WHERE NOT EXISTS (
    SELECT 1 FROM outbox
    WHERE release_id = ?1 AND topic = 'chat' AND key LIKE ?1 || '/card/%' AND done_at IS NULL AND lease_until IS NULL
)
