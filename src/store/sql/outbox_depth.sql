SELECT topic, COUNT(*) AS n FROM outbox WHERE done_at IS NULL GROUP BY topic
