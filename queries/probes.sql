-- name: probes
-- description: Data-plane probes (aoai-audit probe), newest first. Each probe is joined to the latest burst of its
-- description: resource whose window holds it (5 minutes before the start to an hour after the end); verdict is
-- description: confirms (the probe reproduces the burst's signature), not_reproduced (the probe's credential works),
-- description: or differs. A probe is evidence of a failure class, never a cause.
-- param: since time 7d Start of the window (inclusive).
-- param: until time now End of the window (exclusive).
-- param: resource resource - ARM id or account name; all resources when omitted.
-- param: class text - Only probes of this class (ok, invalid_key_or_endpoint, key_auth_disabled, token_rejected, no_data_plane_role, deployment_not_found, throttled, other).
SELECT iso_time(p.time_us) AS time, p.class, p.status, p.error_code, p.resource_id, p.endpoint_host, p.deployment,
       p.api_version, p.auth, p.principal_id, round(p.latency_ms, 1) AS latency_ms, p.apim_request_id, p.region,
       p.retry_after_s, p.detail, p.fix, p.series_id, p.seq,
       b.id AS burst_id, iso_time(b.start_us) AS burst_start, b.signature AS burst_signature,
       CASE
         WHEN b.id IS NULL THEN NULL
         WHEN p.class = 'ok' THEN 'not_reproduced'
         WHEN (p.class = 'invalid_key_or_endpoint' AND b.signature IN ('key_error', 'mixed'))
           OR (p.class = 'key_auth_disabled' AND b.signature IN ('auth_type_disabled', 'mixed'))
           OR (p.class IN ('token_rejected', 'no_data_plane_role') AND b.signature IN ('token_or_permission_error', 'mixed'))
           OR (p.class = 'other' AND p.status = 403 AND b.signature = 'forbidden') THEN 'confirms'
         ELSE 'differs'
       END AS verdict
FROM probes p
LEFT JOIN bursts b ON b.id = (
  SELECT b2.id FROM bursts b2
  WHERE p.resource_id <> ''
    AND (b2.resource_id = p.resource_id OR b2.resource_id LIKE '%/' || p.resource_id)
    AND p.time_us >= b2.start_us - 300000000 AND p.time_us <= b2.end_us + 3600000000
  ORDER BY b2.start_us DESC LIMIT 1)
WHERE p.time_us >= :since AND p.time_us < :until
  AND (:resource IS NULL OR p.resource_id = :resource OR p.resource_id LIKE '%/' || :resource
       OR (p.resource_id <> '' AND p.resource_id NOT LIKE '%/%' AND :resource LIKE '%/' || p.resource_id))
  AND (:class IS NULL OR p.class = :class)
ORDER BY p.time_us DESC, p.seq DESC;
