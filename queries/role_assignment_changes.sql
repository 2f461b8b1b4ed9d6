-- name: role_assignment_changes
-- description: Role assignments added or removed (principal, role, scope), newest first.
-- param: since time 30d Start of the window (inclusive).
-- param: until time now End of the window (exclusive).
-- param: principal text - Only this principal (object id).
SELECT iso_time(time_us) AS time,
       CASE kind WHEN 'role_assignment_deleted' THEN 'removed' ELSE 'added' END AS action,
       principal_id, resource_id AS scope, actor, summary, source_id AS evidence, correlation_id
FROM changes
WHERE kind IN ('role_assignment_created', 'role_assignment_deleted')
  AND time_us >= :since AND time_us < :until
  AND (:principal IS NULL OR principal_id = lower(:principal))
ORDER BY time_us DESC;
