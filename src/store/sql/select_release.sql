SELECT id, guild_id, name, process_json, inputs_json, status, reason, created_by, started_by, created_at,
       parent_release_id, parent_activity, parent_attempt, risk_json, schedule_json,
       (SELECT id FROM installation LIMIT 1) AS "installation?: String"
FROM releases WHERE id = ?
