-- name: request_rollup
-- description: Every request (success or failure) counted per minute, resource, deployment, caller, api-version, operation and status.
-- schema_version: 1
-- table: request_rollup
-- time_column: minute_us
-- settle: 180m
-- params: :from, :to (minute window, µs). No insertion sequence: a minute's counts grow while
--   imports add to it, so incremental exports take only minutes older than the settle window
--   (3 h) and never re-export a minute; counts imported later for an exported minute reach a
--   SIEM only through an explicit --since/--until re-export (a new `_r2` file).
-- The first column is the event time as integer UTC microseconds; the exporter writes it as
-- ISO 8601 (`2026-11-23T04:05:06.123456Z`) without a per-row SQL function call.
SELECT minute_us AS time, resource_id, deployment, caller, api_version, operation, status,
       count, duration_ms_sum
FROM request_rollup_v
WHERE minute_us >= :from AND minute_us < :to
ORDER BY minute_us;
