UPDATE activity_runs SET status = ?, attempt = ?, reason = ? WHERE release_id = ? AND activity_id = ?
