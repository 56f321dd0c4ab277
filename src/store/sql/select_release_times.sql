-- When a release last started and when it ended (RFC 3339), from its trail; NULL for what has
-- not happened. Walks the release's rows newest first by the audit_by_release index.
SELECT
    (SELECT at FROM audit WHERE release_id = ?1 AND action = 'release_started' ORDER BY id DESC LIMIT 1) AS "started?: String",
    (SELECT at FROM audit WHERE release_id = ?1 AND action = 'release_finished' ORDER BY id DESC LIMIT 1) AS "ended?: String"
