INSERT INTO audit (id, release_id, at, actor_json, action, detail_json, prev_hash, hash) 
