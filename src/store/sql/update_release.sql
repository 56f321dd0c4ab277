UPDATE releases SET status = ?, reason = ?, started_by = ?, updated_at = ? WHERE id = ?
