-- name: failures_by_caller
-- description: Failed requests per caller (Entra object id, or masked IP for key callers) and api-version, with the status mix (from the per-minute rollup).
-- param: since time 7d Start of the window (inclusive, minute resolution).
-- param: until time now End of the window (exclusive).
-- param: resource resource - ARM id or account name; all resources when omitted.
WITH g AS (
    SELECT r.caller, r.api_version, r.resource, sum(r.count) AS failures,
           sum(CASE WHEN r.status = 401 THEN r.count ELSE 0 END) AS s401,
           sum(CASE WHEN r.status = 403 THEN r.count ELSE 0 END) AS s403,
           sum(CASE WHEN r.status = 429 THEN r.count ELSE 0 END) AS s429,
           sum(CASE WHEN r.status >= 500 THEN r.count ELSE 0 END) AS s5xx,
           min(r.minute_us) AS first_us, max(r.minute_us) AS last_us
    FROM request_rollup r
    WHERE r.status >= 400
      AND r.minute_us >= :since AND r.minute_us < :until
      AND (:resource IS NULL OR r.resource IN (SELECT id FROM dims WHERE kind = 'resource' AND (value = :resource OR value LIKE '%/' || :resource)))
    GROUP BY r.caller, r.api_version, r.resource
    ORDER BY failures DESC
    LIMIT 200
)
SELECT cal.value AS caller, CASE WHEN cal.value LIKE '%*%' THEN 'key' ELSE 'entra' END AS auth,
       api.value AS api_version, res.value AS resource_id, g.failures, g.s401, g.s403, g.s429, g.s5xx,
       iso_minute(g.first_us) AS first_seen, iso_minute(g.last_us) AS last_seen
FROM g JOIN dims cal ON cal.id = g.caller JOIN dims api ON api.id = g.api_version JOIN dims res ON res.id = g.resource
ORDER BY g.failures DESC;
