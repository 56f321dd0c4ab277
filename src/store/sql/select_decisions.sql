SELECT activity_id, user_id, user_name, approve, level, on_behalf_of, on_behalf_of_name, principals_json
FROM decisions WHERE release_id = ? ORDER BY decided_at, rowid
