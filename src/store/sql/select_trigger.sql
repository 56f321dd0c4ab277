SELECT release_id FROM trigger_requests WHERE webhook_id = ?
