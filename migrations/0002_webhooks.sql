-- Webhook outputs, callback completion, inbound replay protection and CI triggers.

ALTER TABLE activity_runs ADD COLUMN outputs_json TEXT NOT NULL DEFAULT '{}';
-- When an activity first left NotStarted and when it ended (unix ms), for activity durations.
ALTER TABLE activity_runs ADD COLUMN started_at INTEGER;
ALTER TABLE activity_runs ADD COLUMN finished_at INTEGER;

-- One unguessable token per webhook try with `completion: callback`; it names the try.
CREATE TABLE callback_tokens (
    token       TEXT    PRIMARY KEY,
    release_id  INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    activity_id TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    created_at  TEXT    NOT NULL
);

-- `webhook-id`s of signed inbound requests already accepted: a replay is refused.
CREATE TABLE inbound_ids (
    webhook_id TEXT PRIMARY KEY,
    seen_at    TEXT NOT NULL
);

-- Releases created by CI, by the caller's `webhook-id`: a retried trigger gets the same release.
CREATE TABLE trigger_requests (
    webhook_id TEXT    PRIMARY KEY,
    release_id INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    created_at TEXT    NOT NULL
);

-- Chat rows are numbered per release when enqueued; without this the count scans the outbox.
CREATE INDEX outbox_by_release ON outbox (release_id, topic);
