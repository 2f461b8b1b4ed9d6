-- name: top_error_codes
-- description: The most frequent failing status codes per operation and resource.
-- param: since time 7d Start of the window (inclusive).
-- param: until time now End of the window (exclusive).
-- param: resource resource - ARM id or account name; all resources when omitted.
SELECT status, operation, resource_id, count(*) AS failures, count(DISTINCT caller) AS callers,
       iso_time(min(time_us)) AS first_seen, iso_time(max(time_us)) AS last_seen
FROM request_failures_v
WHERE time_us >= :since AND time_us < :until
  AND (:resource IS NULL OR resource_id = :resource OR resource_id LIKE '%/' || :resource)
GROUP BY status, operation, resource_id
ORDER BY failures DESC
LIMIT 50;
