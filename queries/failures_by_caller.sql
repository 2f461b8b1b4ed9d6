-- name: failures_by_caller
-- description: Failed requests per caller (Entra object id, or masked IP for key callers) and api-version, with the status mix.
-- param: since time 7d Start of the window (inclusive).
-- param: until time now End of the window (exclusive).
-- param: resource resource - ARM id or account name; all resources when omitted.
SELECT caller,
       CASE WHEN object_id = '' THEN 'key' ELSE 'entra' END AS auth,
       api_version,
       resource_id,
       count(*) AS failures,
       sum(status = 401) AS s401,
       sum(status = 403) AS s403,
       sum(status = 429) AS s429,
       sum(status >= 500) AS s5xx,
       iso_time(min(time_us)) AS first_seen,
       iso_time(max(time_us)) AS last_seen
FROM request_failures_v
WHERE time_us >= :since AND time_us < :until
  AND (:resource IS NULL OR resource_id = :resource OR resource_id LIKE '%/' || :resource)
GROUP BY caller, api_version, resource_id
ORDER BY failures DESC
LIMIT 200;
