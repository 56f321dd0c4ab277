SELECT COUNT(*) FROM outbox WHERE release_id = ? AND topic = 'chat'
