-- Fenced: only the claim that is still current may complete the row.
UPDATE outbox SET done_at = ?, lease_until = NULL, last_error = NULL WHERE id = ? AND claims = ? AND done_at IS NULL
