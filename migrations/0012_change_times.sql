-- Lead time starts at the earliest change a release carries (from an activity marked
-- `collects: changes`), when one says its time; NULL: from the release's creation.
ALTER TABLE deliveries ADD COLUMN changed_at INTEGER;
