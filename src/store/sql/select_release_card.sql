SELECT channel_id, message_id, has_thread FROM release_cards WHERE release_id = ?
