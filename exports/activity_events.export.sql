-- name: activity_events
-- description: Every Activity Log event (all categories), one row per event.
-- schema_version: 1
-- time_column: time_us
SELECT iso_time(time_us) AS time, event_data_id, correlation_id, category, operation, status, sub_status, level,
       caller, caller_ip, resource_id, subscription_id, resource_group, resource_name, http_status,
       principal_id, principal_type, role, title, description, iso_time(submission_us) AS submission_time, shape, source
FROM activity_events
WHERE time_us >= :from AND time_us < :to
ORDER BY time_us, id;
