-- Open request messages of a release (?1), of one activity when ?2 is not NULL.
SELECT activity_id, level, channel_id, message_id FROM request_messages
WHERE release_id = ?1 AND closed = 0 AND (?2 IS NULL OR activity_id = ?2)
ORDER BY message_id
