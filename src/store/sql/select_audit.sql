SELECT id, release_id, at, actor_json, action, detail_json, prev_hash, hash FROM audit WHERE release_id = ? ORDER BY id
