-- Several outbox rows at once (see `Tx::flush`). OR IGNORE: a transition replayed after a crash
-- cannot enqueue the same side effect twice.
INSERT OR IGNORE INTO outbox (topic, key, release_id, payload_json, available_at, priority) 
