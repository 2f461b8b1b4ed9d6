-- Collectors over HTTP (issue 3).

-- What each source asked for and what came back, so `status` can tell a window that was
-- fetched and came back empty from one never fetched. `scope` is what the window applies to
-- (a subscription, a container prefix, a workspace, a feed URL).
CREATE TABLE coverage (
    source     TEXT NOT NULL,
    scope      TEXT NOT NULL,
    from_us    INTEGER NOT NULL,
    to_us      INTEGER NOT NULL,
    records    INTEGER NOT NULL,
    fetched_us INTEGER NOT NULL,
    PRIMARY KEY (source, scope, from_us, to_us)
);

-- Per-source lag (newest record time vs the end of the fetched window) and the last summary.
ALTER TABLE sources ADD COLUMN lag_us INTEGER;
ALTER TABLE sources ADD COLUMN summary TEXT;

-- RBAC snapshots: the last seen state of each account scope, diffed by the next snapshot.
CREATE TABLE rbac_state (
    source     TEXT NOT NULL,
    scope      TEXT NOT NULL,   -- lower-cased account resource id
    item       TEXT NOT NULL,   -- 'assignment:<id>' or 'property:<name>'
    value      TEXT NOT NULL,   -- JSON of what matters (principal, role, scope) or the property value
    seen_us    INTEGER NOT NULL,
    PRIMARY KEY (source, scope, item)
);
