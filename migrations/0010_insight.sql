-- Insight: what each release delivered, service by service (the inventory's history, and what
-- DORA figures are computed from). Rows are never deleted or changed; they outlive the release
-- rows they came from (no foreign key), so archiving or deleting a release keeps its history.
CREATE TABLE deliveries (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id       INTEGER NOT NULL,
    release_id     INTEGER NOT NULL,
    process        TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    service        TEXT    NOT NULL,
    version        TEXT    NOT NULL,
    environment    TEXT    NOT NULL,
    outcome        TEXT    NOT NULL CHECK (outcome IN ('delivered', 'rolled_back', 'failed_after_delivering')),
    -- Unix seconds: read by the hundred thousand for DORA figures, where parsing text costs.
    created_at     INTEGER NOT NULL,
    delivered_at   INTEGER NOT NULL,
    rolled_back_to TEXT
);
-- "What is where": the latest row per service and environment.
CREATE INDEX deliveries_by_target ON deliveries (guild_id, service, environment, delivered_at);
-- DORA over a period.
CREATE INDEX deliveries_by_time ON deliveries (guild_id, delivered_at);
-- The metrics endpoint's recent window, across servers.
CREATE INDEX deliveries_recent ON deliveries (delivered_at);
