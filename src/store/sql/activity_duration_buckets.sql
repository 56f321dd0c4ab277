-- Finished activities' durations in histogram buckets (seconds), for /metrics.
SELECT
    COUNT(*) AS n,
    COALESCE(SUM(finished_at - started_at), 0) / 1000.0 AS sum_secs,
    COALESCE(SUM(finished_at - started_at <= 1000), 0) AS le_1,
    COALESCE(SUM(finished_at - started_at <= 10000), 0) AS le_10,
    COALESCE(SUM(finished_at - started_at <= 60000), 0) AS le_60,
    COALESCE(SUM(finished_at - started_at <= 300000), 0) AS le_300,
    COALESCE(SUM(finished_at - started_at <= 900000), 0) AS le_900,
    COALESCE(SUM(finished_at - started_at <= 3600000), 0) AS le_3600,
    COALESCE(SUM(finished_at - started_at <= 14400000), 0) AS le_14400,
    COALESCE(SUM(finished_at - started_at <= 86400000), 0) AS le_86400
FROM activity_runs
WHERE finished_at IS NOT NULL AND started_at IS NOT NULL
