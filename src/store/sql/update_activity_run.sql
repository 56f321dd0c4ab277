-- ?1 status, ?2 attempt, ?3 reason, ?4 outputs, ?5 release, ?6 activity, ?7 now (unix ms),
-- ?8 approval state (NULL for other kinds), ?9 the first try of the current run.
-- started_at is set once, when the activity first leaves NotStarted; finished_at when it ends.
UPDATE activity_runs
SET status = ?1, attempt = ?2, reason = ?3, outputs_json = ?4, approval_json = ?8, run_attempt = ?9,
    started_at = CASE WHEN ?1 <> 'NotStarted' THEN COALESCE(started_at, ?7) ELSE started_at END,
    finished_at = CASE WHEN ?1 IN ('Success', 'Failed', 'Skipped', 'Ignored', 'Aborted') THEN COALESCE(finished_at, ?7) END
WHERE release_id = ?5 AND activity_id = ?6
