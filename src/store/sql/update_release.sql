UPDATE releases SET status = ?, reason = ?, started_by = ?, updated_at = ?, name = ?, inputs_json = ?, risk_json = ?,
                    schedule_json = ?, planned_at = ?
WHERE id = ?
