UPDATE activity_runs SET status = ?, attempt = ?, reason = ?, outputs_json = ? WHERE release_id = ? AND activity_id = ?
