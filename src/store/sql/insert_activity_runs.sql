INSERT INTO activity_runs (release_id, activity_id, phase_id, position, status, attempt, reason)
VALUES (?, ?, ?, ?, ?, ?, ?)
