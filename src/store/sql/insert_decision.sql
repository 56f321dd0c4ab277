INSERT OR IGNORE INTO decisions
    (release_id, activity_id, user_id, user_name, approve, decided_at, level, on_behalf_of, on_behalf_of_name, principals_json)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
