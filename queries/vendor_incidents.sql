-- name: vendor_incidents
-- description: Vendor incidents (status feeds and Azure ServiceHealth) active in a window, one row per incident with its latest status.
-- param: since time 7d Start of the window (inclusive).
-- param: until time now End of the window (exclusive).
-- param: provider text - Only this provider (azure, azure-servicehealth, status.openai.com, …).
SELECT provider, incident_key, title, service, region,
       iso_time(min(start_us)) AS started,
       iso_time(max(updated_us)) AS last_update,
       iso_time(max(resolved_us)) AS resolved,
       (SELECT v2.status FROM vendor_incidents v2 WHERE v2.incident_key = v.incident_key ORDER BY v2.updated_us DESC LIMIT 1) AS status,
       count(*) AS updates
FROM vendor_incidents v
WHERE (:provider IS NULL OR provider = :provider)
GROUP BY incident_key
HAVING min(start_us) < :until AND coalesce(max(resolved_us), max(updated_us), :until) >= :since
ORDER BY started DESC;
