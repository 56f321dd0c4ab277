-- Every changed activity of release ?1 in one statement (one round trip, however many changed).
-- ?2 now (unix ms); ?3 a JSON array of [activity, status, attempt, reason, outputs JSON,
-- approval state JSON (NULL for other kinds), the first try of the current run].
-- started_at is set once, when the activity first leaves NotStarted; finished_at when it ends.
UPDATE activity_runs
SET status = j.status, attempt = j.attempt, reason = j.reason, outputs_json = j.outputs_json,
    approval_json = j.approval_json, run_attempt = j.run_attempt,
    started_at = CASE WHEN j.status <> 'NotStarted' THEN COALESCE(started_at, ?2) ELSE started_at END,
    finished_at = CASE WHEN j.status IN ('Success', 'Failed', 'Skipped', 'Ignored', 'Aborted') THEN COALESCE(finished_at, ?2) END
FROM (
    SELECT json_extract(value, '$[0]') AS activity_id, json_extract(value, '$[1]') AS status,
           json_extract(value, '$[2]') AS attempt, json_extract(value, '$[3]') AS reason,
           json_extract(value, '$[4]') AS outputs_json, json_extract(value, '$[5]') AS approval_json,
           json_extract(value, '$[6]') AS run_attempt
    FROM json_each(?3)
) AS j
WHERE activity_runs.release_id = ?1 AND activity_runs.activity_id = j.activity_id
