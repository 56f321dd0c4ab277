-- The messages that ask people for something (an approval level's request, a manual task), so
-- that when the release ends or the activity stops waiting they can be closed: their buttons
-- replaced by one disabled button saying why.
CREATE TABLE request_messages (
    release_id  INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    activity_id TEXT    NOT NULL,
    -- The approval level the message asks for (0 for a single level and for manual tasks).
    level       INTEGER NOT NULL DEFAULT 0,
    channel_id  INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    closed      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (release_id, message_id)
);

-- A release whose thread the bot may not start (the channel refuses threads): its log goes to
-- the channel instead, and the channel is told so once.
ALTER TABLE release_cards ADD COLUMN thread_refused INTEGER NOT NULL DEFAULT 0;
