-- name: key_rotations
-- description: Key regenerations and key listings on Azure OpenAI accounts, and Key Vault secret versions, newest first.
-- param: since time 30d Start of the window (inclusive).
-- param: until time now End of the window (exclusive).
-- param: resource resource - ARM id or account name; all resources when omitted.
SELECT iso_time(time_us) AS time, kind, resource_id, actor, summary, source_id AS evidence, correlation_id
FROM changes
WHERE kind IN ('key_regenerated', 'key_listed', 'keyvault_secret_set')
  AND time_us >= :since AND time_us < :until
  AND (:resource IS NULL OR resource_id = :resource OR resource_id LIKE '%/' || :resource)
ORDER BY time_us DESC;
