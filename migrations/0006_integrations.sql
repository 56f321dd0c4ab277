-- Integrations: idempotency keys per run of an activity, unique across installations.

-- The first try of an activity's current run: automatic retries keep it (and the receiver's
-- idempotency key), a person's retry starts a new run with a new key.
ALTER TABLE activity_runs ADD COLUMN run_attempt INTEGER NOT NULL DEFAULT 1;

-- One row, created with the database: its id prefixes every idempotency key, so two
-- databases never send the same key for different work.
CREATE TABLE installation (
    id         TEXT NOT NULL,
    created_at TEXT NOT NULL
);
INSERT INTO installation (id, created_at) VALUES (lower(hex(randomblob(8))), strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
