-- name: changes
-- description: Derived changes that can break authentication (key rotations, local-auth toggles, role assignments, network rules, Key Vault secrets, SDK and api-version bumps, manual marks).
-- schema_version: 1
-- table: changes
-- time_column: time_us
-- sequence_column: id
-- settle: 5m
-- params: :from, :to (event time window, µs), :seq_from, :seq_to (insertion sequence window).
-- detail is JSON text when the change carries structured detail.
-- The first column is the event time as integer UTC microseconds; the exporter writes it as
-- ISO 8601 (`2026-11-23T04:05:06.123456Z`) without a per-row SQL function call.
SELECT time_us AS time, kind, resource_id, actor, summary, detail, source_kind, source_id,
       correlation_id, principal_id, app, source
FROM changes
WHERE time_us >= :from AND time_us < :to AND id > :seq_from AND id <= :seq_to
ORDER BY time_us, id;
