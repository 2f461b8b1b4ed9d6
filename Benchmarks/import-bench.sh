#!/usr/bin/env bash
# Import benchmark: aoai-audit against two peers on the same Azure OpenAI RequestResponse data.
#
#   Benchmarks/import-bench.sh [RECORDS=1000000]
#
# 1. builds the release binary (swift build -c release);
# 2. generates RECORDS RequestResponse records over 30 days with `aoai-audit generate` (seed 7,
#    deterministic) into .bench-out/data;
# 3. loads the diagnostics PT1H.json files with each peer from ../shared/bench
#    (sqlite-utils from a virtual environment .venv-bench, then the sqlite3 shell alone),
#    then with `aoai-audit import`, each under /usr/bin/time -v;
# 4. prints seconds, peak RSS and database size per tool, and the ratios against aoai-audit.
#
# Everything is written under .bench-out/ (gitignored); the table is also saved to
# .bench-out/import-bench.txt. Environment overrides: AOAI_AUDIT (binary to measure),
# BENCH_SKIP_BUILD=1 (use the existing build), BENCH_VENV (virtual environment path).
set -euo pipefail

usage() { echo "usage: $0 [RECORDS=1000000]" >&2; exit 64; }
RECORDS=${1:-1000000}
[[ $RECORDS =~ ^[0-9]+$ ]] || usage
(( $# <= 1 )) || usage

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERS=$(cd "$ROOT/../shared/bench" 2>/dev/null && pwd) || {
    echo "peer scripts not found at $ROOT/../shared/bench" >&2
    exit 1
}
W=$ROOT/.bench-out
BIN=${AOAI_AUDIT:-$ROOT/.build/release/aoai-audit}
VENV=${BENCH_VENV:-$ROOT/.venv-bench}
cd "$ROOT"
mkdir -p "$W"

command -v sqlite3 >/dev/null || { echo "sqlite3 not found (apt-get install -y sqlite3)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 1; }

if [[ -z ${BENCH_SKIP_BUILD:-} ]]; then
    echo "== swift build -c release" >&2
    swift build -c release >&2
fi
[[ -x $BIN ]] || { echo "no binary at $BIN" >&2; exit 1; }

echo "== generating $RECORDS records (30 days, seed 7) into $W/data" >&2
rm -rf "$W/data" "$W/all-PT1H.json"
gen_start=$(date +%s.%N)
"$BIN" generate --out "$W/data" --records "$RECORDS" --days 30 --seed 7 >&2
gen_end=$(date +%s.%N)

if [[ ! -x $VENV/bin/sqlite-utils ]]; then
    echo "== creating $VENV with sqlite-utils" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet sqlite-utils >&2
fi
export PATH="$VENV/bin:$PATH"

mapfile -d '' FILES < <(find "$W/data/diagnostics" -name PT1H.json -print0 | sort -z)
(( ${#FILES[@]} > 0 )) || { echo "no PT1H.json files under $W/data/diagnostics" >&2; exit 1; }
data_bytes=$(find "$W/data/diagnostics" -name PT1H.json -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
if (( $(printf '%s\n' "${FILES[@]}" | wc -c) > 1500000 )); then
    # Too many paths for one command line: the peers get one concatenated file instead
    # (prepared outside the timed runs).
    echo "== ${#FILES[@]} files: concatenating for the peers" >&2
    find "$W/data/diagnostics" -name PT1H.json -print0 | sort -z | xargs -0 cat > "$W/all-PT1H.json"
    PEER_FILES=("$W/all-PT1H.json")
else
    PEER_FILES=("${FILES[@]}")
fi
# Warm the page cache so that no tool pays for the first read.
find "$W/data/diagnostics" -name PT1H.json -print0 | xargs -0 cat > /dev/null

HAVE_TIME=0
[[ -x /usr/bin/time ]] && HAVE_TIME=1
(( HAVE_TIME )) || echo "!! /usr/bin/time missing (apt-get install -y time): timing with bash, RSS unknown" >&2

declare -A SECS RSS DBMB
TOOLS=()

# measure NAME DB COMMAND...: runs COMMAND, output to .bench-out/NAME.log, records wall seconds,
# peak RSS (MB) and the size of DB (plus its WAL) in MB.
measure() {
    local name=$1 db=$2
    shift 2
    local log=$W/$name.log tv=$W/$name.time t0 t1 status=0
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
    else
        RSS[$name]=unknown
    fi
    local bytes=0 f
    for f in "$db" "$db-wal"; do
        [[ -f $f ]] && bytes=$(( bytes + $(stat -c %s "$f") ))
    done
    DBMB[$name]=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
    TOOLS+=("$name")
}

measure sqlite-utils "$W/peer-sqlite-utils.db" "$PEERS/peer-sqlite-utils.sh" "$W/peer-sqlite-utils.db" "${PEER_FILES[@]}"
measure sqlite3 "$W/peer-sqlite3.db" "$PEERS/peer-sqlite3.sh" "$W/peer-sqlite3.db" "${PEER_FILES[@]}"
rm -f "$W/ours.db" "$W/ours.db-wal" "$W/ours.db-shm"
measure aoai-audit "$W/ours.db" "$BIN" import "$W/data/diagnostics" --db "$W/ours.db"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "unknown") printf "%.2f", a / b; else printf "-" }'; }

{
    echo "import benchmark: $RECORDS RequestResponse records, ${#FILES[@]} files," \
        "$(awk -v b="$data_bytes" 'BEGIN { printf "%.0f", b / 1048576 }') MB of JSON lines;" \
        "$(nproc) cores; generated in $(awk -v a="$gen_start" -v b="$gen_end" 'BEGIN { printf "%.1f", b - a }') s"
    printf '%-13s %9s %12s %9s %15s %17s\n' tool seconds "peak RSS MB" "DB MB" "peer s / our s" "our DB / peer DB"
    for t in "${TOOLS[@]}"; do
        if [[ $t == aoai-audit ]]; then
            printf '%-13s %9s %12s %9s %15s %17s\n' "$t" "${SECS[$t]}" "${RSS[$t]}" "${DBMB[$t]}" "1.00" "1.00"
        else
            printf '%-13s %9s %12s %9s %15s %17s\n' "$t" "${SECS[$t]}" "${RSS[$t]}" "${DBMB[$t]}" \
                "$(ratio "${SECS[$t]}" "${SECS[aoai-audit]}")" "$(ratio "${DBMB[aoai-audit]}" "${DBMB[$t]}")"
        fi
    done
    for t in sqlite-utils sqlite3; do
        echo "$t: $(grep -E '^rows' "$W/$t.log" | tail -n 1 | tr '|' ' ')"
    done
    echo "aoai-audit: $(tail -n 1 "$W/aoai-audit.log")"
} | tee "$W/import-bench.txt"
