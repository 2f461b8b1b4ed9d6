#!/usr/bin/env bash
# Search and named-query latency on large databases.
#
#   Benchmarks/query-bench.sh
#
# 1. builds the release binary (unless BENCH_SKIP_BUILD=1);
# 2. builds two databases under .bench-out/ (reused when present):
#    - requests.db: 1,000,000 RequestResponse records over 30 days (the import benchmark's mix:
#      ~0.8 % failures), for the named queries over 30 days of data;
#    - events.db: 2,000,000 records with a 50 % failure rate, i.e. ~1,000,000 failed requests,
#      each a full-text search document: the "1 M-event database" for search;
# 3. runs 20 searches (common terms that match nearly every document, rare terms, phrases,
#    GUIDs, filters) and every named query over the 30-day window, each as a separate process
#    (start-up included), 5 times, and prints the median and the worst per item and overall.
# The goals (foundation issue): search median <= 50 ms; each named query <= 200 ms.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
W=$ROOT/.bench-out
BIN=${AOAI_AUDIT:-$ROOT/.build/release/aoai-audit}
cd "$ROOT"
mkdir -p "$W"
[[ -n ${BENCH_SKIP_BUILD:-} ]] || swift build -c release >&2

if [[ ! -f $W/requests.db ]]; then
    echo "== building requests.db (1M requests, 30 days)" >&2
    rm -rf "$W/q-data"
    "$BIN" generate --out "$W/q-data" --records 1000000 --days 30 --seed 7 >&2
    "$BIN" import "$W/q-data" --db "$W/requests.db" >&2
    rm -rf "$W/q-data"
fi
if [[ ! -f $W/events.db ]]; then
    echo "== building events.db (~1M failed requests as search documents)" >&2
    rm -rf "$W/e-data"
    "$BIN" generate --out "$W/e-data" --records 2000000 --days 30 --seed 11 --failure-rate 0.5 >&2
    "$BIN" import "$W/e-data" --db "$W/events.db" >&2
    rm -rf "$W/e-data"
fi

ms() { # run a command 5 times, print "median worst" in ms
    local t=()
    for _ in 1 2 3 4 5; do
        local s e
        s=$(date +%s%N); "$@" > /dev/null; e=$(date +%s%N)
        t+=($(( (e - s) / 1000000 )))
    done
    printf '%s\n' "${t[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[3], a[5] }'
}

searches=(
    "Unauthorized" "ChatCompletions_Create" "gpt-4o" "401" "2024-10-21" "key caller" "entra caller"
    "TooManyRequests" "InternalServerError" "NotFound" "Embeddings_Create 401" "aoai"
    "regenerateKey" "role assignment" "listKeys" "deployment" "ServiceHealth" "incident"
    "b2221a58-008a-45a6-8464-7159c324c985" "nonexistentword"
)
first=$("$BIN" query --db "$W/events.db" --sql "SELECT iso_time(min(time_us)) FROM request_failures" --format csv | tail -1 | tr -d '\r')
last=$("$BIN" query --db "$W/events.db" --sql "SELECT iso_time(max(time_us) + 1) FROM request_failures" --format csv | tail -1 | tr -d '\r')
docs=$("$BIN" query --db "$W/events.db" --sql "SELECT count(*) FROM search_docs" --format csv | tail -1 | tr -d '\r')

echo
echo "search on events.db ($docs search documents), 20 queries x 5 runs, ms per process"
all=()
printf '%-42s %8s %8s\n' query median worst
for q in "${searches[@]}"; do
    read -r med worst < <(ms "$BIN" search --db "$W/events.db" --format csv -- "$q")
    all+=("$med")
    printf '%-42s %8s %8s\n' "$q" "$med" "$worst"
done
read -r med worst < <(ms "$BIN" search --db "$W/events.db" --format csv --kind request --since 7d -- Unauthorized)
printf '%-42s %8s %8s\n' "Unauthorized --kind request --since 7d" "$med" "$worst"
account=$("$BIN" query --db "$W/events.db" --sql "SELECT value FROM dims WHERE kind = 'resource' AND value LIKE '%/accounts/%' LIMIT 1" --format csv | tail -1 | tr -d '\r')
read -r med worst < <(ms "$BIN" search --db "$W/events.db" --format csv --resource "${account##*/}" -- 401)
printf '%-42s %8s %8s\n' "401 --resource ${account##*/}" "$med" "$worst"
overall=$(printf '%s\n' "${all[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo "median over the 20 queries: ${overall} ms (goal <= 50 ms)"

echo
for db in requests events; do
    f=$("$BIN" query --db "$W/$db.db" --sql "SELECT iso_time(min(minute_us)) FROM request_rollup" --format csv | tail -1 | tr -d '\r')
    l=$("$BIN" query --db "$W/$db.db" --sql "SELECT iso_time(max(minute_us) + 60000000) FROM request_rollup" --format csv | tail -1 | tr -d '\r')
    echo "named queries on $db.db over $f .. $l (30 days), ms per process"
    printf '%-28s %8s %8s\n' query median worst
    for q in auth_failures_by_hour failures_by_caller top_error_codes key_rotations role_assignment_changes account_config_changes vendor_incidents quarantine_summary; do
        args=(query "$q" --db "$W/$db.db" --format csv)
        [[ $q == quarantine_summary ]] || args+=(--param "since=$f" --param "until=$l")
        read -r med worst < <(ms "$BIN" "${args[@]}")
        printf '%-28s %8s %8s\n' "$q" "$med" "$worst"
    done
    read -r med worst < <(ms "$BIN" query changes_before --db "$W/$db.db" --format csv --param "at=$l" --param hours=720)
    printf '%-28s %8s %8s\n' "changes_before (720 h)" "$med" "$worst"
    echo
done
echo "(goal: each named query <= 200 ms)"
: "$first" "$last"
