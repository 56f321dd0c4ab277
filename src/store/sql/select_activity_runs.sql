SELECT activity_id, phase_id, status, attempt, reason FROM activity_runs WHERE release_id = ? ORDER BY position
