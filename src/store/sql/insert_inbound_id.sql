-- OR IGNORE + rows_affected tells a first sighting from a replay.
INSERT OR IGNORE INTO inbound_ids (webhook_id, seen_at) VALUES (?, ?)
