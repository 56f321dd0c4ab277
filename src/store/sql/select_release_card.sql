SELECT channel_id, message_id, has_thread AS "has_thread: bool", thread_refused AS "thread_refused: bool" FROM release_cards WHERE release_id = ?
