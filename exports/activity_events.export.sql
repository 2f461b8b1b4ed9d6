-- name: activity_events
-- description: Every Activity Log event (all categories), one row per event.
-- schema_version: 1
-- table: activity_events
-- time_column: time_us
-- sequence_column: id
-- settle: 5m
-- params: :from, :to (event time window, µs, to exclusive), :seq_from, :seq_to (insertion
--   sequence window, from exclusive, to inclusive). Columns never change meaning; a new column
--   goes at the end and bumps schema_version.
-- The first column is the event time as integer UTC microseconds; the exporter writes it as
-- ISO 8601 (`2026-11-23T04:05:06.123456Z`) without a per-row SQL function call.
SELECT time_us AS time, event_data_id, correlation_id, category, operation, status, sub_status, level,
       caller, caller_ip, resource_id, subscription_id, resource_group, resource_name, http_status,
       principal_id, principal_type, role, title, description, iso_time(submission_us) AS submission_time, shape, source
FROM activity_events
WHERE time_us >= :from AND time_us < :to AND id > :seq_from AND id <= :seq_to
ORDER BY time_us, id;
