-- At start-up no delivery can be in flight: the leases left are from a process that died.
UPDATE outbox SET lease_until = NULL WHERE done_at IS NULL AND lease_until IS NOT NULL
