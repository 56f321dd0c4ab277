SELECT activity_id, user_id, user_name, approve FROM decisions WHERE release_id = ? ORDER BY decided_at, user_id
