SELECT release_id, activity_id, attempt FROM callback_tokens WHERE token = ?
