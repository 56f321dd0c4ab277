-- Phase runs with their activity runs, in order, in one statement.
SELECT p.phase_id, p.status AS phase_status,
       a.activity_id, a.status, a.attempt, a.run_attempt, a.reason, a.outputs_json, a.approval_json
FROM phase_runs p
LEFT JOIN activity_runs a ON a.release_id = p.release_id AND a.phase_id = p.phase_id
WHERE p.release_id = ?
ORDER BY p.position, a.position
