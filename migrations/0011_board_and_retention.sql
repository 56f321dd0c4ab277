-- The release board: one message per server, in a channel the server chose, edited in place.
CREATE TABLE boards (
    guild_id   INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL,
    message_id INTEGER,
    drawn_at   INTEGER NOT NULL DEFAULT 0
);

-- Retention: a release that ended long ago is archived (out of lists, the board and the calendar;
-- kept for reports, DORA, the inventory and the audit trail).
ALTER TABLE releases ADD COLUMN archived_at TEXT;
CREATE INDEX releases_to_archive ON releases (status, updated_at) WHERE archived_at IS NULL;
