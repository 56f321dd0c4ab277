INSERT INTO deliveries (guild_id, release_id, process, kind, service, version, environment, outcome, created_at, changed_at, delivered_at, rolled_back_to)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
