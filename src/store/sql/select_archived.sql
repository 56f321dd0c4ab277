SELECT archived_at FROM releases WHERE id = ?
