SELECT channel_id, message_id FROM advance_notices WHERE release_id = ?
