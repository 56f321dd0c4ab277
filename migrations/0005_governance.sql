-- Governance: a release's assessed risk, an approval's time lock and escalation, who a decision
-- counted as (level, delegation, matched principals), and delegations themselves.

ALTER TABLE releases ADD COLUMN risk_json TEXT;
ALTER TABLE activity_runs ADD COLUMN approval_json TEXT;

ALTER TABLE decisions ADD COLUMN level INTEGER NOT NULL DEFAULT 0;
-- The delegator, when the decider acted by delegation.
ALTER TABLE decisions ADD COLUMN on_behalf_of INTEGER;
ALTER TABLE decisions ADD COLUMN on_behalf_of_name TEXT;
ALTER TABLE decisions ADD COLUMN principals_json TEXT NOT NULL DEFAULT '[]';

-- `from_json` keeps the delegator as they were when they delegated (id, name, roles): the
-- authority handed over. Rows are never deleted; revoking sets `revoked_at`.
CREATE TABLE delegations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id   INTEGER NOT NULL,
    from_user  INTEGER NOT NULL,
    from_json  TEXT    NOT NULL,
    to_user    INTEGER NOT NULL,
    to_name    TEXT    NOT NULL,
    process    TEXT,
    until      TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    revoked_at TEXT
);
CREATE INDEX delegations_to ON delegations (guild_id, to_user, until);
CREATE INDEX delegations_from ON delegations (guild_id, from_user, until);
