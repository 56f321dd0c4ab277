-- OR IGNORE: a transition replayed after a crash cannot enqueue the same side effect twice.
-- ?6 priority: 1 for a hotfix release's work, so it is claimed before the rest's when work queues up.
INSERT OR IGNORE INTO outbox (topic, key, release_id, payload_json, available_at, priority)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
