-- name: quarantine_summary
-- description: Records that could not be loaded, grouped by reason and file, with the first position of each.
SELECT reason, source, count(*) AS records, min(line) AS first_line, max(line) AS last_line,
       iso_time(max(created_us)) AS last_seen, (SELECT q2.excerpt FROM quarantine q2 WHERE q2.reason = q.reason AND q2.source = q.source LIMIT 1) AS example
FROM quarantine q
GROUP BY reason, source
ORDER BY records DESC;
