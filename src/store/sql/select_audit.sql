SELECT id, release_id, at, actor_json, action, detail_json FROM audit WHERE release_id = ? ORDER BY id
