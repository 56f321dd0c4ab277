SELECT activity_id, phase_id, status, attempt, reason, outputs_json FROM activity_runs WHERE release_id = ? ORDER BY position
