-- Returns a row only the first time: the fallback to the channel is announced once.
UPDATE release_cards SET thread_refused = 1 WHERE release_id = ? AND thread_refused = 0
