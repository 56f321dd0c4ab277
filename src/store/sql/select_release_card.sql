SELECT channel_id, message_id, has_thread, thread_refused FROM release_cards WHERE release_id = ?
