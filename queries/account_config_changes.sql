-- name: account_config_changes
-- description: Account configuration changes: local (key) auth toggled, network rules, deployments, other account writes.
-- param: since time 30d Start of the window (inclusive).
-- param: until time now End of the window (exclusive).
-- param: resource resource - ARM id or account name; all resources when omitted.
SELECT iso_time(time_us) AS time, kind, resource_id, actor, summary, source_id AS evidence
FROM changes
WHERE kind IN ('local_auth_disabled', 'local_auth_enabled', 'network_rule_change', 'account_config_change', 'deployment_change')
  AND time_us >= :since AND time_us < :until
  AND (:resource IS NULL OR resource_id = :resource OR resource_id LIKE '%/' || :resource)
ORDER BY time_us DESC;
