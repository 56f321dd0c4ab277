INSERT INTO phase_runs (release_id, phase_id, position, status) VALUES (?, ?, ?, ?)
