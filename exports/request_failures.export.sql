-- name: request_failures
-- description: Every Azure OpenAI request that failed (status >= 400), whole, one row per request.
-- schema_version: 1
-- table: request_failures
-- time_column: time_us
-- sequence_column: id
-- settle: 5m
-- params: :from, :to (event time window, µs), :seq_from, :seq_to (insertion sequence window).
-- caller is the Entra object id, else the (masked) caller IP; extra is JSON text.
-- The first column is the event time as integer UTC microseconds; the exporter writes it as
-- ISO 8601 (`2026-11-23T04:05:06.123456Z`) without a per-row SQL function call.
SELECT time_us AS time, resource_id, status, operation, deployment, model, model_version, caller,
       object_id, caller_ip, api_version, correlation_id, duration_ms, request_length, response_length,
       stream_type, region, category, extra, source
FROM request_failures_v
WHERE time_us >= :from AND time_us < :to AND id > :seq_from AND id <= :seq_to
ORDER BY time_us, id;
