-- Releases, their phase and activity runs, approval decisions, the audit trail and the outbox.
-- Snowflakes (guild, user ids) are stored as INTEGER: Discord's fit in 63 bits.

CREATE TABLE releases (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id        INTEGER NOT NULL,
    name            TEXT    NOT NULL,
    process_name    TEXT    NOT NULL,
    process_version TEXT    NOT NULL,
    -- The validated process as JSON: a release is pinned to the definition it was created from.
    process_json    TEXT    NOT NULL,
    inputs_json     TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    reason          TEXT,
    created_by      INTEGER NOT NULL,
    started_by      INTEGER,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);
CREATE INDEX releases_by_guild ON releases (guild_id, id);

CREATE TABLE phase_runs (
    release_id INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    phase_id   TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    status     TEXT    NOT NULL,
    PRIMARY KEY (release_id, phase_id)
);

CREATE TABLE activity_runs (
    release_id  INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    activity_id TEXT    NOT NULL,
    phase_id    TEXT    NOT NULL,
    position    INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    attempt     INTEGER NOT NULL DEFAULT 0,
    reason      TEXT,
    PRIMARY KEY (release_id, activity_id),
    FOREIGN KEY (release_id, phase_id) REFERENCES phase_runs (release_id, phase_id)
);

-- One counted decision per person per approval: the primary key makes a double click count once.
CREATE TABLE decisions (
    release_id  INTEGER NOT NULL,
    activity_id TEXT    NOT NULL,
    user_id     INTEGER NOT NULL,
    user_name   TEXT    NOT NULL,
    approve     INTEGER NOT NULL,
    decided_at  TEXT    NOT NULL,
    PRIMARY KEY (release_id, activity_id, user_id),
    FOREIGN KEY (release_id, activity_id) REFERENCES activity_runs (release_id, activity_id) ON DELETE CASCADE
);

-- Append-only: written in the same transaction as the state change it records.
-- Hash-chained: hash = SHA-256(prev_hash, the row's stored fields), ids without gaps, so an
-- edited, deleted or reordered row breaks the chain (`trainmaster audit verify`).
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    release_id  INTEGER,
    at          TEXT    NOT NULL,
    actor_json  TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    detail_json TEXT    NOT NULL,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL UNIQUE
);
CREATE INDEX audit_by_release ON audit (release_id, id);
CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;

-- Side effects to deliver at least once: webhook calls and chat messages.
-- `claims` fences a delivery: a worker only completes the row it claimed (AND claims = ?).
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    topic        TEXT    NOT NULL CHECK (topic IN ('webhook', 'chat')),
    key          TEXT    NOT NULL UNIQUE,
    release_id   INTEGER REFERENCES releases (id) ON DELETE CASCADE,
    payload_json TEXT    NOT NULL,
    available_at INTEGER NOT NULL, -- unix milliseconds
    priority     INTEGER NOT NULL DEFAULT 0, -- 1 for hotfix releases: served first when work queues up
    lease_until  INTEGER,
    claims       INTEGER NOT NULL DEFAULT 0,
    done_at      INTEGER,
    last_error   TEXT
);
CREATE INDEX outbox_due ON outbox (topic, priority DESC, available_at) WHERE done_at IS NULL;
