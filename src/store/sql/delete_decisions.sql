DELETE FROM decisions WHERE release_id = ? AND activity_id = ?
