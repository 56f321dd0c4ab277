SELECT MIN(MAX(available_at, COALESCE(lease_until, 0))) FROM outbox WHERE topic = ? AND done_at IS NULL
