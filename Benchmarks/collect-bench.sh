#!/usr/bin/env bash
# Collect benchmark: the same diagnostics blobs loaded by `aoai-audit import` (files) and by
# `aoai-audit collect` (HTTP, from the local Azure simulator). Goal: collect <= 1.5x import.
#
#   Benchmarks/collect-bench.sh [RECORDS=1000000]
#
# 1. builds the release binary (swift build -c release);
# 2. generates RECORDS RequestResponse records over 30 days with `aoai-audit generate` (seed 7,
#    deterministic) into .bench-out/collect-data;
# 3. imports .bench-out/collect-data/diagnostics into a fresh database under /usr/bin/time -v;
# 4. starts `aoai-audit simulate --scenario .bench-out/collect-data --write-config …` in the
#    background, waits for its listening line, exports the simulator's (fake) credentials and
#    runs `aoai-audit collect --source diagnostics` into another fresh database under
#    /usr/bin/time -v, recording the simulator's CPU time (it shares the cores) from /proc;
# 5. stops the simulator (SIGTERM, expects exit 0), checks both databases hold the same number
#    of requests, and prints seconds, CPU, peak RSS and requests per side, and collect/import.
#
# Everything is written under .bench-out/ (gitignored); the table is also saved to
# .bench-out/collect-bench.txt. Environment overrides: AOAI_AUDIT (binary to measure),
# BENCH_SKIP_BUILD=1 (use the existing build).
set -euo pipefail

usage() { echo "usage: $0 [RECORDS=1000000]" >&2; exit 64; }
RECORDS=${1:-1000000}
[[ $RECORDS =~ ^[0-9]+$ ]] || usage
(( $# <= 1 )) || usage

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
W=$ROOT/.bench-out
BIN=${AOAI_AUDIT:-$ROOT/.build/release/aoai-audit}
DATA=$W/collect-data
cd "$ROOT"
mkdir -p "$W"

command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 1; }

if [[ -z ${BENCH_SKIP_BUILD:-} ]]; then
    echo "== swift build -c release" >&2
    swift build -c release >&2
fi
[[ -x $BIN ]] || { echo "no binary at $BIN" >&2; exit 1; }

echo "== generating $RECORDS records (30 days, seed 7) into $DATA" >&2
rm -rf "$DATA"
gen_start=$(date +%s.%N)
"$BIN" generate --out "$DATA" --records "$RECORDS" --days 30 --seed 7 >&2
gen_end=$(date +%s.%N)
files=$(find "$DATA/diagnostics" -name PT1H.json | wc -l)
data_bytes=$(find "$DATA/diagnostics" -name PT1H.json -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
# Warm the page cache so that neither side pays for the first read.
find "$DATA/diagnostics" -name PT1H.json -print0 | xargs -0 cat > /dev/null

HAVE_TIME=0
[[ -x /usr/bin/time ]] && HAVE_TIME=1
(( HAVE_TIME )) || echo "!! /usr/bin/time missing (apt-get install -y time): timing with bash, CPU and RSS unknown" >&2

declare -A SECS CPU RSS
# measure NAME COMMAND...: runs COMMAND with output to .bench-out/collect-NAME.log; records wall
# seconds, CPU seconds (user + system) and peak RSS (MB).
measure() {
    local name=$1
    shift
    local log=$W/collect-$name.log tv=$W/collect-$name.time t0 t1 status=0
    echo "== $name" >&2
    t0=$(date +%s.%N)
    if (( HAVE_TIME )); then
        /usr/bin/time -v -o "$tv" "$@" > "$log" 2>&1 || status=$?
    else
        "$@" > "$log" 2>&1 || status=$?
    fi
    t1=$(date +%s.%N)
    if (( status != 0 )); then
        echo "$name failed with status $status; last lines of $log:" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
    SECS[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    if (( HAVE_TIME )); then
        RSS[$name]=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$tv")
        CPU[$name]=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.2f", u + s }' "$tv")
    else
        RSS[$name]=unknown
        CPU[$name]=unknown
    fi
}

# requests DB: counts.requests of `status --format json`.
requests() {
    "$BIN" status --db "$1" --format json | python3 -c 'import json, sys; print(json.load(sys.stdin)["counts"]["requests"])'
}

# CPU seconds (user + system) a process has used so far, from /proc/PID/stat.
proc_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

# 1. import
IMPORT_DB=$W/collect-import.db
rm -f "$IMPORT_DB" "$IMPORT_DB-wal" "$IMPORT_DB-shm"
measure import "$BIN" import "$DATA/diagnostics" --db "$IMPORT_DB"

# 2. the simulator
CONFIG=$W/collect-sim.yaml
SIM_OUT=$W/collect-sim.out
rm -f "$CONFIG" "$SIM_OUT"
echo "== simulate" >&2
sim_start=$(date +%s.%N)
"$BIN" simulate --scenario "$DATA" --write-config "$CONFIG" > "$SIM_OUT" 2> "$W/collect-sim.log" &
SIM_PID=$!
trap 'kill -TERM "$SIM_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
    grep -q '^simulator listening on ' "$SIM_OUT" 2>/dev/null && break
    kill -0 "$SIM_PID" 2>/dev/null || { echo "the simulator exited; see $W/collect-sim.log" >&2; cat "$W/collect-sim.log" >&2; exit 1; }
    sleep 0.05
done
grep -q '^simulator listening on ' "$SIM_OUT" || { echo "the simulator did not start within 30 s" >&2; exit 1; }
sim_ready=$(date +%s.%N)
SIM_LOAD=$(awk -v a="$sim_start" -v b="$sim_ready" 'BEGIN { printf "%.2f", b - a }')
SIM_URL=$(sed -n 's/^simulator listening on \([^ ]*\) .*/\1/p' "$SIM_OUT")
# The simulator's fake test identity, as the config's header comment names it.
eval "$(sed -n 's/^#   export \(AZURE_[A-Z_]*=[A-Za-z0-9-]*\)$/export \1/p' "$CONFIG")"
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
[[ -n ${AZURE_CLIENT_SECRET:-} ]] || { echo "no credentials in $CONFIG" >&2; exit 1; }

# 3. collect
COLLECT_DB=$W/collect-collect.db
rm -f "$COLLECT_DB" "$COLLECT_DB-wal" "$COLLECT_DB-shm"
sim_cpu0=$(proc_cpu "$SIM_PID")
measure collect "$BIN" collect --source diagnostics --config "$CONFIG" --db "$COLLECT_DB"
sim_cpu1=$(proc_cpu "$SIM_PID")
SIM_CPU=$(awk -v a="$sim_cpu0" -v b="$sim_cpu1" 'BEGIN { printf "%.2f", b - a }')
SIM_RSS=$(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$SIM_PID/status")

# 4. stop the simulator: SIGTERM must end it cleanly with status 0.
kill -TERM "$SIM_PID"
sim_status=0
wait "$SIM_PID" || sim_status=$?
trap - EXIT
(( sim_status == 0 )) || { echo "the simulator exited with status $sim_status after SIGTERM" >&2; exit 1; }

IMPORTED=$(requests "$IMPORT_DB")
COLLECTED=$(requests "$COLLECT_DB")
RATIO=$(awk -v a="${SECS[collect]}" -v b="${SECS[import]}" 'BEGIN { printf "%.2f", a / b }')
MET=$(awk -v r="$RATIO" 'BEGIN { print (r <= 1.5 ? "met" : "NOT met") }')

{
    echo "collect benchmark: $RECORDS RequestResponse records, $files blobs," \
        "$(awk -v b="$data_bytes" 'BEGIN { printf "%.0f", b / 1048576 }') MB of JSON lines;" \
        "$(nproc) cores; generated in $(awk -v a="$gen_start" -v b="$gen_end" 'BEGIN { printf "%.1f", b - a }') s;" \
        "simulator at $SIM_URL ready in $SIM_LOAD s"
    printf '%-22s %9s %9s %12s %10s\n' run seconds "CPU s" "peak RSS MB" requests
    printf '%-22s %9s %9s %12s %10s\n' "import (files)" "${SECS[import]}" "${CPU[import]}" "${RSS[import]}" "$IMPORTED"
    printf '%-22s %9s %9s %12s %10s\n' "collect (HTTP)" "${SECS[collect]}" "${CPU[collect]}" "${RSS[collect]}" "$COLLECTED"
    printf '%-22s %9s %9s %12s %10s\n' "  simulator (same run)" "-" "$SIM_CPU" "$SIM_RSS" "-"
    echo "collect / import: ${RATIO}x (goal <= 1.5x: $MET); same request count: $([[ $IMPORTED == "$COLLECTED" ]] && echo yes || echo NO)"
    echo "import: $(tail -n 1 "$W/collect-import.log")"
    echo "collect: $(tail -n 1 "$W/collect-collect.log")"
} | tee "$W/collect-bench.txt"

[[ $IMPORTED == "$COLLECTED" ]] || { echo "request counts differ: import $IMPORTED, collect $COLLECTED" >&2; exit 1; }
