SELECT COUNT(*) AS "n!: i64" FROM advance_notices WHERE release_id = ?
