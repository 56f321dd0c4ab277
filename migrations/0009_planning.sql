-- Planning: a release's planned start, freezes added in chat, release group occurrences and
-- pauses, and the message of each advance shipping notice.

-- The planned start and who set it (`Schedule` as JSON); `planned_at` repeats its time (UTC,
-- RFC 3339) for the calendar's range queries.
ALTER TABLE releases ADD COLUMN schedule_json TEXT;
ALTER TABLE releases ADD COLUMN planned_at TEXT;
CREATE INDEX releases_by_plan ON releases (guild_id, planned_at) WHERE planned_at IS NOT NULL;

-- Freezes added with `/freeze add` (declared ones live in trainmaster.toml and process files).
-- Never deleted: `/freeze end` sets `ended_at`.
CREATE TABLE freezes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id    INTEGER NOT NULL,
    freeze_json TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    ended_at    TEXT,
    ended_by    TEXT
);
CREATE INDEX freezes_open ON freezes (guild_id) WHERE ended_at IS NULL;

-- Every occurrence a release group has dealt with: its key makes a second creation impossible,
-- across restarts and overlapping planner runs. `release_id` is NULL for one skipped ahead.
CREATE TABLE group_occurrences (
    guild_id   INTEGER NOT NULL,
    process    TEXT    NOT NULL,
    occurrence TEXT    NOT NULL,
    release_id INTEGER,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, process, occurrence)
);

-- A paused release group creates nothing until resumed.
CREATE TABLE paused_groups (
    guild_id  INTEGER NOT NULL,
    process   TEXT    NOT NULL,
    paused_by TEXT    NOT NULL,
    paused_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, process)
);

-- The advance shipping notice of a release, once posted: later changes edit this message.
CREATE TABLE advance_notices (
    release_id INTEGER PRIMARY KEY REFERENCES releases (id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    posted_at  TEXT    NOT NULL
);
