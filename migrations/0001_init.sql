-- 0001_init: the foundation schema.
-- Times are integer UTC microseconds (*_us); resource ids are lower-cased ARM ids.
-- Every table has a dedupe key so that loading the same data twice changes nothing.

-- Activity Log events of every category (Administrative, ServiceHealth, ResourceHealth, Policy…).
-- identity_key = correlation id | lower(operation) | normalized status | event time, which the REST
-- shape and the export shape share (the export shape has no eventDataId).
CREATE TABLE activity_events (
    id              INTEGER PRIMARY KEY,
    identity_key    TEXT NOT NULL UNIQUE,
    event_data_id   TEXT,
    time_us         INTEGER NOT NULL,
    submission_us   INTEGER,
    category        TEXT NOT NULL,
    operation       TEXT NOT NULL,
    status          TEXT NOT NULL,
    sub_status      TEXT,
    level           TEXT,
    caller          TEXT,
    caller_ip       TEXT,
    correlation_id  TEXT,
    operation_id    TEXT,
    resource_id     TEXT NOT NULL,
    subscription_id TEXT,
    resource_group  TEXT,
    resource_name   TEXT,
    tenant_id       TEXT,
    http_status     INTEGER,
    principal_id    TEXT,
    principal_type  TEXT,
    role            TEXT,
    description     TEXT,
    title           TEXT,
    shape           TEXT NOT NULL,
    source          TEXT NOT NULL,
    raw             TEXT NOT NULL
);
CREATE INDEX activity_events_time ON activity_events(time_us);
CREATE INDEX activity_events_resource_time ON activity_events(resource_id, time_us);
CREATE INDEX activity_events_correlation ON activity_events(correlation_id);
CREATE UNIQUE INDEX activity_events_event_data_id ON activity_events(event_data_id) WHERE event_data_id IS NOT NULL;

-- Every Azure OpenAI request with status >= 400, whole. The resource is a dims id (a
-- million failures must not repeat a 150-byte ARM id a million times); read it through the
-- request_failures_v view, which adds resource_id and caller as text.
CREATE TABLE request_failures (
    id              INTEGER PRIMARY KEY,
    fingerprint     INTEGER NOT NULL,  -- unique through request_seen (no second random index)
    time_us         INTEGER NOT NULL,
    resource        INTEGER NOT NULL,
    category        TEXT NOT NULL,
    operation       TEXT NOT NULL,
    status          INTEGER NOT NULL,
    deployment      TEXT NOT NULL,
    model           TEXT,
    model_version   TEXT,
    object_id       TEXT NOT NULL,
    caller_ip       TEXT NOT NULL,
    api_version     TEXT NOT NULL,
    correlation_id  TEXT,
    duration_ms     INTEGER,
    request_length  INTEGER,
    response_length INTEGER,
    stream_type     TEXT,
    region          TEXT,
    extra           TEXT,
    source          TEXT NOT NULL
);
CREATE INDEX request_failures_time ON request_failures(time_us);
CREATE INDEX request_failures_resource_time ON request_failures(resource, time_us);
CREATE INDEX request_failures_correlation ON request_failures(correlation_id);

-- Dimension values (resource ids, deployments, callers, api-versions, operations) stored once
-- and referenced by integer from the rollup, which keeps a year of per-minute rows small.
CREATE TABLE dims (
    id    INTEGER PRIMARY KEY,
    kind  TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (kind, value)
);

-- Every request (success or failure) counted per minute × resource × deployment × caller ×
-- api-version × operation × status. A year of traffic fits; `requests` in status is SUM(count).
-- Read it through the request_rollup_v view, which resolves the dimension ids to text.
CREATE TABLE request_rollup (
    minute_us       INTEGER NOT NULL,
    resource        INTEGER NOT NULL,
    deployment      INTEGER NOT NULL,
    caller          INTEGER NOT NULL,
    api_version     INTEGER NOT NULL,
    operation       INTEGER NOT NULL,
    status          INTEGER NOT NULL,
    count           INTEGER NOT NULL,
    duration_ms_sum INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (minute_us, resource, deployment, caller, api_version, operation, status)
) WITHOUT ROWID;

-- Failure rows of the rollup by time: the failure queries read only these.
CREATE INDEX request_rollup_failures ON request_rollup(minute_us) WHERE status >= 400;

CREATE VIEW request_rollup_v AS
SELECT r.minute_us, res.value AS resource_id, dep.value AS deployment, cal.value AS caller,
       api.value AS api_version, op.value AS operation, r.status, r.count, r.duration_ms_sum
FROM request_rollup r
JOIN dims res ON res.id = r.resource
JOIN dims dep ON dep.id = r.deployment
JOIN dims cal ON cal.id = r.caller
JOIN dims api ON api.id = r.api_version
JOIN dims op ON op.id = r.operation;

CREATE VIEW request_failures_v AS
SELECT f.id, f.time_us, res.value AS resource_id, f.category, f.operation, f.status, f.deployment, f.model,
       f.model_version, f.object_id, f.caller_ip,
       CASE WHEN f.object_id = '' THEN f.caller_ip ELSE f.object_id END AS caller,
       f.api_version, f.correlation_id, f.duration_ms, f.request_length, f.response_length, f.stream_type,
       f.region, f.extra, f.source, f.fingerprint
FROM request_failures f JOIN dims res ON res.id = f.resource;

-- Fingerprints of every request already counted, clustered by minute so inserts append.
-- This is what makes re-importing, overlapping exports and kill -9 recovery count nothing twice.
CREATE TABLE request_seen (
    minute_us   INTEGER NOT NULL,
    fingerprint INTEGER NOT NULL,
    PRIMARY KEY (minute_us, fingerprint)
) WITHOUT ROWID;

-- When each caller first and last used each api-version on each resource (dims ids). The
-- first use of a new api-version by a caller that used another before becomes an
-- api_version_change in `changes`.
CREATE TABLE api_versions (
    resource    INTEGER NOT NULL,
    caller      INTEGER NOT NULL,
    api_version INTEGER NOT NULL,
    first_us    INTEGER NOT NULL,
    last_us     INTEGER NOT NULL,
    requests    INTEGER NOT NULL,
    PRIMARY KEY (resource, caller, api_version)
) WITHOUT ROWID;

-- Derived changes that can break authentication.
CREATE TABLE changes (
    id             INTEGER PRIMARY KEY,
    dedupe_key     TEXT NOT NULL UNIQUE,
    time_us        INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    actor          TEXT,
    summary        TEXT NOT NULL,
    detail         TEXT,
    source_kind    TEXT NOT NULL,
    source_id      TEXT,
    correlation_id TEXT,
    principal_id   TEXT,
    app            TEXT,
    source         TEXT NOT NULL
);
CREATE INDEX changes_time ON changes(time_us);
CREATE INDEX changes_resource_time ON changes(resource_id, time_us);
CREATE INDEX changes_kind_time ON changes(kind, time_us);

-- Vendor incidents: status feeds and ServiceHealth. One row per update; updates of one
-- incident share incident_key.
CREATE TABLE vendor_incidents (
    id           INTEGER PRIMARY KEY,
    incident_key TEXT NOT NULL,
    update_key   TEXT NOT NULL,
    provider     TEXT NOT NULL,
    title        TEXT NOT NULL,
    status       TEXT,
    impact       TEXT,
    service      TEXT,
    region       TEXT,
    start_us     INTEGER NOT NULL,
    updated_us   INTEGER NOT NULL,
    resolved_us  INTEGER,
    url          TEXT,
    body         TEXT,
    source       TEXT NOT NULL,
    UNIQUE (incident_key, update_key)
);
CREATE INDEX vendor_incidents_time ON vendor_incidents(start_us);

-- Records that could not be loaded, with their position and reason.
CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY,
    dedupe_key  TEXT NOT NULL UNIQUE,
    run_id      INTEGER,
    source      TEXT NOT NULL,
    location    TEXT NOT NULL,
    line        INTEGER,
    byte_offset INTEGER,
    reason      TEXT NOT NULL,
    excerpt     TEXT NOT NULL,
    created_us  INTEGER NOT NULL
);

-- Per-source cursors, committed in the same transaction as the rows they cover.
CREATE TABLE checkpoints (
    source     TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_us INTEGER NOT NULL,
    PRIMARY KEY (source, key)
);

-- Sources seen (config names, or `import` for files) and their last outcome.
CREATE TABLE sources (
    name         TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    last_run_us  INTEGER,
    last_success_us INTEGER,
    last_error   TEXT,
    records      INTEGER NOT NULL DEFAULT 0
);

-- What each command did.
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    command     TEXT NOT NULL,
    started_us  INTEGER NOT NULL,
    finished_us INTEGER,
    status      TEXT NOT NULL DEFAULT 'running',
    summary     TEXT
);

-- Full-text search over human-meaningful text. The rowid is the document's time in
-- microseconds shifted left 8 bits plus a small tie-breaker, so "newest first" is FTS5's native
-- descending rowid order and never a sort. search_docs maps a rowid to its row.
CREATE TABLE search_docs (
    rowid    INTEGER PRIMARY KEY,
    kind     TEXT NOT NULL,
    ref_id   INTEGER NOT NULL,
    resource INTEGER
);
CREATE INDEX search_docs_ref ON search_docs(kind, ref_id);
CREATE VIRTUAL TABLE search_fts USING fts5(
    kind UNINDEXED, title, body, resource, tokenize = 'unicode61 remove_diacritics 2'
);
