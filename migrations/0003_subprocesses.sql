-- A release started by a `subprocess` activity knows its parent, so its end can finish that
-- activity (and the parent's trail and /release status can name the child).
ALTER TABLE releases ADD COLUMN parent_release_id INTEGER REFERENCES releases (id);
ALTER TABLE releases ADD COLUMN parent_activity TEXT;
ALTER TABLE releases ADD COLUMN parent_attempt INTEGER;
CREATE INDEX releases_by_parent ON releases (parent_release_id) WHERE parent_release_id IS NOT NULL;
