-- ?1 release, ?2 activity, ?3 level, ?4 channel, ?5 message
INSERT INTO request_messages (release_id, activity_id, level, channel_id, message_id) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (release_id, message_id) DO NOTHING
