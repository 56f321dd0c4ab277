INSERT INTO advance_notices (release_id, channel_id, message_id, posted_at) VALUES (?, ?, ?, ?)
ON CONFLICT (release_id) DO UPDATE SET channel_id = excluded.channel_id, message_id = excluded.message_id
