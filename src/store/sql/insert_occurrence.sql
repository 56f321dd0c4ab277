-- Claims an occurrence of a release group: no row is inserted when it was dealt with before.
INSERT INTO group_occurrences (guild_id, process, occurrence, release_id, created_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (guild_id, process, occurrence) DO NOTHING
