-- A new release is a Draft, created by ?8 (a user id, or 0 for CI), started by nobody yet.
INSERT INTO releases (guild_id, name, process_name, process_version, process_json, inputs_json,
                      status, reason, created_by, started_by, created_at, updated_at,
                      parent_release_id, parent_activity, parent_attempt)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, NULL, ?9, ?10, ?11, ?12, ?13)
RETURNING id, (SELECT id FROM installation LIMIT 1) AS "installation?: String"
