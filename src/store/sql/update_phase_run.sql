UPDATE phase_runs SET status = ? WHERE release_id = ? AND phase_id = ?
