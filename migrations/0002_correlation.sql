-- 0002_correlation: what `correlate` found, so queries and exports can use it.
-- A run over a window replaces the bursts that start inside that window (correlation is
-- recomputed from the evidence, never appended twice).

CREATE TABLE bursts (
    id               INTEGER PRIMARY KEY,
    resource_id      TEXT NOT NULL,
    start_us         INTEGER NOT NULL,
    end_us           INTEGER NOT NULL,
    peak_per_minute  INTEGER NOT NULL,
    failures         INTEGER NOT NULL,
    status_codes     TEXT NOT NULL,   -- JSON object {"401": n, "403": n}
    callers          TEXT NOT NULL,   -- JSON array of failing callers
    succeeding       TEXT NOT NULL,   -- JSON array of callers that kept succeeding
    api_versions     TEXT NOT NULL,   -- JSON array
    signature        TEXT NOT NULL,   -- key_error, token_error, permission_denied, auth_type_disabled, mixed
    fleet_id         TEXT,
    top_kind         TEXT NOT NULL,
    top_bucket       TEXT NOT NULL,
    top_score        REAL NOT NULL,
    run_id           INTEGER,
    detected_us      INTEGER NOT NULL,
    UNIQUE (resource_id, start_us)
);
CREATE INDEX bursts_start ON bursts(start_us);

-- Ranked candidate causes of each burst; rank 1 is the top cause.
CREATE TABLE findings (
    id          INTEGER PRIMARY KEY,
    burst_id    INTEGER NOT NULL REFERENCES bursts(id) ON DELETE CASCADE,
    rank        INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    bucket      TEXT NOT NULL,
    score       REAL NOT NULL,
    explanation TEXT NOT NULL,
    evidence    TEXT NOT NULL,       -- JSON array of {source_id, correlation_id, time, actor, summary}
    UNIQUE (burst_id, rank)
);
