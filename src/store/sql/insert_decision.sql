INSERT OR IGNORE INTO decisions (release_id, activity_id, user_id, user_name, approve, decided_at)
VALUES (?, ?, ?, ?, ?, ?)
