SELECT id FROM releases WHERE parent_release_id = ? AND parent_activity = ? AND parent_attempt = ?
