-- name: auth_failures_by_hour
-- description: 401 and 403 failures per resource and hour, with the callers and api-versions involved.
-- param: since time 7d Start of the window (inclusive).
-- param: until time now End of the window (exclusive).
-- param: resource resource - ARM id or account name; all resources when omitted.
SELECT iso_time(time_us / 3600000000 * 3600000000) AS hour,
       resource_id,
       sum(status = 401) AS failures_401,
       sum(status = 403) AS failures_403,
       count(DISTINCT caller) AS callers,
       group_concat(DISTINCT api_version) AS api_versions
FROM request_failures_v
WHERE status IN (401, 403)
  AND time_us >= :since AND time_us < :until
  AND (:resource IS NULL OR resource_id = :resource OR resource_id LIKE '%/' || :resource)
GROUP BY time_us / 3600000000, resource_id
ORDER BY hour, resource_id;
