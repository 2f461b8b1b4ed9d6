-- name: probes
-- description: Data-plane probes (`aoai-audit probe`): one row per request sent, with the classified answer and what to do.
-- schema_version: 1
-- table: probes
-- time_column: time_us
-- sequence_column: id
-- settle: 5m
-- params: :from, :to (probe time window, µs), :seq_from, :seq_to (insertion sequence window).
-- The requests of one `probe --repeat N` share series_id (seq 1..N). resource_id is the
-- lower-cased ARM id when the store knows the account, else the account name, else ''.
-- Nothing secret is here: the endpoint's host, the auth kind (key | entra) and, for Entra, the
-- token's object id. class is one of ok, invalid_key_or_endpoint, key_auth_disabled,
-- token_rejected, no_data_plane_role, deployment_not_found, throttled, other.
-- The first column is the event time as integer UTC microseconds; the exporter writes it as
-- ISO 8601 (`2026-11-23T04:05:06.123456Z`) without a per-row SQL function call.
SELECT time_us AS time, resource_id, endpoint_host, deployment, api_version, auth, principal_id, status, class,
       error_code, detail, fix, latency_ms, region, apim_request_id, client_request_id,
       ratelimit_remaining_requests, ratelimit_remaining_tokens, retry_after_s, series_id, seq
FROM probes
WHERE time_us >= :from AND time_us < :to AND id > :seq_from AND id <= :seq_to
ORDER BY time_us, id;
