-- The release card: one message per release in its notices channel, edited in place as the
-- release runs, with a thread under it for the detailed log. A thread started from a message
-- has the message's id, so `has_thread` is all there is to remember about it.
CREATE TABLE release_cards (
    release_id INTEGER PRIMARY KEY REFERENCES releases (id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL,
    message_id INTEGER,
    has_thread INTEGER NOT NULL DEFAULT 0,
    -- Unix ms of the last post or edit: the next edit waits until 2 s after it.
    edited_at  INTEGER
);
