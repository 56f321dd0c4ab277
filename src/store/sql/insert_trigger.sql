INSERT INTO trigger_requests (webhook_id, release_id, created_at) VALUES (?, ?, ?)
