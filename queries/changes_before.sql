-- name: changes_before
-- description: Everything that changed in the N hours before a time: derived changes, vendor incidents and failed control-plane operations, oldest first.
-- param: at time now The moment to look back from (e.g. when the failures started).
-- param: hours int 24 How many hours to look back.
-- param: resource resource - Only changes on this resource, its resource group or subscription (ARM id or account name).
SELECT iso_time(time_us) AS time, 'change' AS what, kind, resource_id, actor, summary, source_id AS evidence
FROM changes
WHERE time_us >= :at - :hours * 3600000000 AND time_us <= :at
  AND (:resource IS NULL OR resource_id = :resource OR resource_id LIKE '%/' || :resource
       OR (:resource LIKE '/%' AND :resource LIKE resource_id || '/%') OR resource_id = '')
UNION ALL
SELECT iso_time(updated_us), 'incident', coalesce(status, ''), coalesce(service, provider), provider, title, incident_key
FROM vendor_incidents
WHERE updated_us >= :at - :hours * 3600000000 AND updated_us <= :at
UNION ALL
SELECT iso_time(time_us), 'failed operation', status, resource_id, caller, operation, coalesce(event_data_id, correlation_id)
FROM activity_events
WHERE status = 'Failed' AND category = 'Administrative'
  AND time_us >= :at - :hours * 3600000000 AND time_us <= :at
  AND (:resource IS NULL OR resource_id = :resource OR resource_id LIKE '%/' || :resource)
ORDER BY 1;
