-- name: bursts
-- description: 401/403 bursts found by correlate, with their top cause (rank 1 finding) and its evidence.
-- schema_version: 1
-- table: bursts
-- time_column: start_us
-- sequence_column: detected_us
-- settle: 5m
-- params: :from, :to (burst start window, µs), :seq_from, :seq_to (detection time window).
-- A burst is identified by (resource_id, time). correlate may re-detect a burst (a later run
-- over the same window replaces it): the new version is exported again with a newer
-- detected_time, so a reader keeps the row with the latest detected_time per identity.
-- status_codes, callers, succeeding_callers, api_versions and top_evidence are JSON text.
-- The first column is the event time as integer UTC microseconds; the exporter writes it as
-- ISO 8601 (`2026-11-23T04:05:06.123456Z`) without a per-row SQL function call.
SELECT b.start_us AS time, b.resource_id, iso_time(b.end_us) AS end_time, b.peak_per_minute, b.failures,
       b.status_codes, b.callers, b.succeeding AS succeeding_callers, b.api_versions, b.signature, b.fleet_id,
       b.top_kind, b.top_bucket, b.top_score, f.explanation AS top_explanation, f.evidence AS top_evidence,
       iso_time(b.detected_us) AS detected_time
FROM bursts b
LEFT JOIN findings f ON f.burst_id = b.id AND f.rank = 1
WHERE b.start_us >= :from AND b.start_us < :to AND b.detected_us > :seq_from AND b.detected_us <= :seq_to
ORDER BY b.start_us, b.id;
