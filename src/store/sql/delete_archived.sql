DELETE FROM releases WHERE id = ? AND archived_at IS NOT NULL
