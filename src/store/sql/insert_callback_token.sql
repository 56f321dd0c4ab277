INSERT INTO callback_tokens (token, release_id, activity_id, attempt, created_at) VALUES (?, ?, ?, ?, ?)
