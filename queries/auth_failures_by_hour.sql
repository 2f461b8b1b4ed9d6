-- name: auth_failures_by_hour
-- description: 401 and 403 failures per resource and hour, with the number of callers and the api-versions involved (from the per-minute rollup, so it stays fast on millions of failures).
-- param: since time 7d Start of the window (inclusive, minute resolution).
-- param: until time now End of the window (exclusive).
-- param: resource resource - ARM id or account name; all resources when omitted.
WITH g AS (
    SELECT r.minute_us / 3600000000 AS h, r.resource,
           sum(CASE WHEN r.status = 401 THEN r.count ELSE 0 END) AS s401,
           sum(CASE WHEN r.status = 403 THEN r.count ELSE 0 END) AS s403,
           count(DISTINCT r.caller) AS callers
    FROM request_rollup r
    WHERE r.status >= 400 AND r.status IN (401, 403)
      AND r.minute_us >= :since AND r.minute_us < :until
      AND (:resource IS NULL OR r.resource IN (SELECT id FROM dims WHERE kind = 'resource' AND (value = :resource OR value LIKE '%/' || :resource)))
    GROUP BY h, r.resource
)
SELECT iso_time(g.h * 3600000000) AS hour, res.value AS resource_id, g.s401 AS failures_401, g.s403 AS failures_403, g.callers,
       (SELECT group_concat(value) FROM dims WHERE id IN (
            SELECT DISTINCT r2.api_version FROM request_rollup r2
            WHERE r2.status >= 400 AND r2.status IN (401, 403) AND r2.resource = g.resource
              AND r2.minute_us >= g.h * 3600000000 AND r2.minute_us < (g.h + 1) * 3600000000)) AS api_versions
FROM g JOIN dims res ON res.id = g.resource
ORDER BY hour, resource_id;
