DELETE FROM releases WHERE id = ? AND status = 'Draft'
