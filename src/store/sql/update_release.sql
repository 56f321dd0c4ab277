UPDATE releases SET status = ?, reason = ?, started_by = ?, updated_at = ?, name = ?, inputs_json = ?, risk_json = ? WHERE id = ?
