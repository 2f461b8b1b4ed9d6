-- name: vendor_incidents
-- description: Vendor incidents from status feeds and ServiceHealth, one row per update (updates of one incident share incident_key).
-- schema_version: 1
-- table: vendor_incidents
-- time_column: updated_us
-- sequence_column: id
-- settle: 5m
-- params: :from, :to (update time window, µs), :seq_from, :seq_to (insertion sequence window).
-- The first column is the event time as integer UTC microseconds; the exporter writes it as
-- ISO 8601 (`2026-11-23T04:05:06.123456Z`) without a per-row SQL function call.
SELECT updated_us AS time, incident_key, update_key, provider, title, status, impact, service, region,
       iso_time(start_us) AS start_time, iso_time(resolved_us) AS resolved_time, url, body, source
FROM vendor_incidents
WHERE updated_us >= :from AND updated_us < :to AND id > :seq_from AND id <= :seq_to
ORDER BY updated_us, id;
