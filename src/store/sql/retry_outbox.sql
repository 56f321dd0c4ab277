UPDATE outbox SET available_at = ?, lease_until = NULL, last_error = ? WHERE id = ? AND claims = ? AND done_at IS NULL
