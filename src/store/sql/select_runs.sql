-- Phase runs with their activity runs, in order, in one statement.
SELECT p.phase_id, p.status AS phase_status,
       -- NULL for a phase without activities (the LEFT JOIN).
       a.activity_id AS "activity_id?", a.status AS "status?", a.attempt AS "attempt?",
       a.run_attempt AS "run_attempt?", a.reason, a.outputs_json AS "outputs_json?", a.approval_json
FROM phase_runs p
LEFT JOIN activity_runs a ON a.release_id = p.release_id AND a.phase_id = p.phase_id
WHERE p.release_id = ?
ORDER BY p.position, a.position
