-- Sets a server's board channel; a new channel means a new message there.
INSERT INTO boards (guild_id, channel_id, message_id) VALUES (?1, ?2, NULL)
ON CONFLICT (guild_id) DO UPDATE SET
    message_id = CASE WHEN boards.channel_id = excluded.channel_id THEN boards.message_id ELSE NULL END,
    channel_id = excluded.channel_id
