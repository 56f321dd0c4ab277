INSERT INTO releases (guild_id, name, process_name, process_version, process_json, inputs_json,
                      status, reason, created_by, started_by, created_at, updated_at,
                      parent_release_id, parent_activity, parent_attempt)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id
