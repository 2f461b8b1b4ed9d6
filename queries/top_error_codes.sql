-- name: top_error_codes
-- description: The most frequent failing status codes per operation and resource (from the per-minute rollup).
-- param: since time 7d Start of the window (inclusive, minute resolution).
-- param: until time now End of the window (exclusive).
-- param: resource resource - ARM id or account name; all resources when omitted.
WITH g AS (
    SELECT r.status, r.operation, r.resource, sum(r.count) AS failures, count(DISTINCT r.caller) AS callers,
           min(r.minute_us) AS first_us, max(r.minute_us) AS last_us
    FROM request_rollup r
    WHERE r.status >= 400
      AND r.minute_us >= :since AND r.minute_us < :until
      AND (:resource IS NULL OR r.resource IN (SELECT id FROM dims WHERE kind = 'resource' AND (value = :resource OR value LIKE '%/' || :resource)))
    GROUP BY r.status, r.operation, r.resource
    ORDER BY failures DESC
    LIMIT 50
)
SELECT g.status, op.value AS operation, res.value AS resource_id, g.failures, g.callers,
       iso_minute(g.first_us) AS first_seen, iso_minute(g.last_us) AS last_seen
FROM g JOIN dims op ON op.id = g.operation JOIN dims res ON res.id = g.resource
ORDER BY g.failures DESC;
