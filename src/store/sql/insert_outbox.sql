-- OR IGNORE: a transition replayed after a crash cannot enqueue the same side effect twice.
-- Hotfix releases get priority 1, so their work is claimed before the rest's when it queues up.
INSERT OR IGNORE INTO outbox (topic, key, release_id, payload_json, available_at, priority)
VALUES (?1, ?2, ?3, ?4, ?5,
        COALESCE((SELECT json_extract(process_json, '$.kind') = 'hotfix' FROM releases WHERE id = ?3), 0))
