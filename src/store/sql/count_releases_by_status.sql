SELECT status, COUNT(*) AS n FROM releases GROUP BY status
