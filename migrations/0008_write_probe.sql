-- One row /readyz rewrites to prove that writes go through (a full disk fails it).
CREATE TABLE write_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL -- unix milliseconds of the last probe
);
