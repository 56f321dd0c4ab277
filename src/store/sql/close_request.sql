UPDATE request_messages SET closed = 1 WHERE release_id = ?1 AND message_id = ?2
