UPDATE release_cards SET has_thread = 1 WHERE release_id = ?
