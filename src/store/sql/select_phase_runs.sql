SELECT phase_id, status FROM phase_runs WHERE release_id = ? ORDER BY position
