INSERT INTO audit (release_id, at, actor_json, action, detail_json) VALUES (?, ?, ?, ?, ?)
