#!/usr/bin/env bash
# Export speed and memory: one dataset of N rows (default 5,000,000) to gzip CSV.
#
#   Benchmarks/export-bench.sh              # 5,000,000 request_rollup rows
#   Benchmarks/export-bench.sh 1000000      # quicker
#
# Writes N `request_rollup` rows directly (python3's sqlite3 module) into a database created by
# `aoai-audit import <empty dir>`, then exports the same rows twice, each under /usr/bin/time -v:
#   - peer: ../shared/bench/peer-export.sh (the sqlite3 shell's CSV mode into gzip -6), given the
#     dataset's own query (same columns, dimension ids joined to text, ISO times via strftime);
#   - ours: aoai-audit export --dataset request_rollup --since … --until … --out DIR.
# Prints rows/s for both, the ratio (goal >= 1.5) and our peak RSS (goal <= 100 MB), CPU seconds
# (user + system: wall time is noisy when other jobs share the cores, so the load average at the
# start is printed too), and, after the timed runs, checks our file (gzip -t; the decompressed
# CSV has N + 1 lines) and compares its size with one gzip -6 stream of the same CSV (we compress
# 1 MiB blocks on several threads: BlockWriter.swift).
# AOAI_AUDIT_GZIP_WORKERS=N sets our compression threads (default: one per core).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROWS=${1:-5000000}
W=$ROOT/.bench-out
BIN=${AOAI_AUDIT:-$ROOT/.build/release/aoai-audit}
PEER=${BENCH_PEER_EXPORT:-$(cd "$ROOT/../shared/bench" && pwd)/peer-export.sh}
cd "$ROOT"
mkdir -p "$W"
[[ -n ${BENCH_SKIP_BUILD:-} ]] || swift build -c release >&2
DB=$W/export-$ROWS.db
if [[ ! -f $DB ]]; then
    rm -rf "$W/empty" && mkdir -p "$W/empty"
    "$BIN" import "$W/empty" --db "$DB" > /dev/null
    echo "== writing $ROWS request_rollup rows" >&2
    python3 - "$DB" "$ROWS" <<'PY'
import random, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = int(sys.argv[2])
db.execute("PRAGMA synchronous=OFF")
rnd = random.Random(11)
START = 1788220800 * 1_000_000            # 2026-09-01T00:00:00Z
MIN = 60_000_000
def dim(kind, value):
    db.execute("INSERT OR IGNORE INTO dims(kind, value) VALUES (?, ?)", (kind, value))
    return db.execute("SELECT id FROM dims WHERE kind=? AND value=?", (kind, value)).fetchone()[0]
res = [dim("resource", f"/subscriptions/sub{a % 2}/resourcegroups/rg{a % 3}/providers/microsoft.cognitiveservices/accounts/aoai-bench-{a}") for a in range(10)]
cal = [dim("caller", f"{c:08d}-0000-4000-8000-{c:012d}" if c % 2 else f"10.0.{c}.***") for c in range(10)]
dep = [dim("deployment", d) for d in ("gpt-4o", "gpt-4o-mini")]
api, op = dim("api_version", "2024-10-21"), dim("operation", "ChatCompletions_Create")
per_minute = 100                           # 10 resources x 10 callers
rows, written, m = [], 0, 0
while written < n:
    mu = START + m * MIN
    for r in res:
        for c in cal:
            if written >= n: break
            st = 401 if rnd.random() < 0.01 else 200
            rows.append((mu, r, dep[c & 1], c, api, op, st, rnd.randint(1, 40), rnd.randint(50, 9000)))
            written += 1
    m += 1
    if len(rows) >= 200_000:
        db.executemany("INSERT INTO request_rollup VALUES (?,?,?,?,?,?,?,?,?)", rows); rows = []
db.executemany("INSERT INTO request_rollup VALUES (?,?,?,?,?,?,?,?,?)", rows)
db.commit()
print("rows:", db.execute("SELECT count(*) FROM request_rollup").fetchone()[0], "minutes:", m, file=sys.stderr)
PY
fi
SINCE=2026-09-01
UNTIL=2027-01-01
N=$(sqlite3 "$DB" "SELECT count(*) FROM request_rollup WHERE minute_us >= 1788220800000000")
# The dataset's query for the sqlite3 shell (iso_time is ours; strftime gives the same instant).
Q="(SELECT strftime('%Y-%m-%dT%H:%M:%fZ', minute_us / 1000000, 'unixepoch') AS time, resource_id, deployment, caller, api_version, operation, status, count, duration_ms_sum FROM request_rollup_v WHERE minute_us >= 1788220800000000 ORDER BY minute_us)"
cat "$DB" "$DB-wal" > /dev/null 2>&1 || true   # warm the page cache for both

timed() {  # timed NAME CMD... -> sets SEC, CPU and RSS_KB
    local name=$1; shift
    local s e
    s=$(date +%s%N)
    /usr/bin/time -v -o "$W/export-$name.time" "$@" > "$W/export-$name.log" 2>&1
    e=$(date +%s%N)
    SEC=$(python3 -c "print(($e - $s) / 1e9)")
    RSS_KB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$W/export-$name.time")
    CPU=$(awk -F': ' '/User time|System time/ {t += $2} END {print t}' "$W/export-$name.time")
}
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

rm -f "$W/peer-export.csv.gz"
echo "== peer: peer-export.sh ($N rows)" >&2
timed peer "$PEER" "$DB" "$Q" "$W/peer-export.csv.gz"
PEER_SEC=$SEC PEER_RSS=$RSS_KB PEER_CPU=$CPU

rm -rf "$W/export-ours" && mkdir -p "$W/export-ours"
echo "== ours: aoai-audit export --dataset request_rollup" >&2
timed ours "$BIN" export --db "$DB" --dataset request_rollup --since "$SINCE" --until "$UNTIL" --out "$W/export-ours"
OURS_SEC=$SEC OURS_RSS=$RSS_KB OURS_CPU=$CPU
OURS_ROWS=$(python3 -c "import glob, json; print(sum(json.load(open(p))['rows'] for p in glob.glob('$W/export-ours/*.manifest.json')))")
[[ $OURS_ROWS == "$N" ]] || { echo "ours exported $OURS_ROWS rows, expected $N" >&2; exit 1; }
# Not timed: the file is valid gzip holding N rows and a header, and the size one gzip -6 stream
# of the same CSV would have.
OURS_GZ=$(ls "$W"/export-ours/*.csv.gz)
gzip -t "$OURS_GZ"
LINES=$(gzip -dc "$OURS_GZ" | wc -l)
[[ $LINES == $((N + 1)) ]] || { echo "our file decompresses to $LINES lines, expected $((N + 1))" >&2; exit 1; }
SINGLE_BYTES=$(gzip -dc "$OURS_GZ" | gzip -6 | wc -c)

python3 - "$N" "$PEER_SEC" "$PEER_RSS" "$OURS_SEC" "$OURS_RSS" "$W/peer-export.csv.gz" "$OURS_GZ" "$PEER_CPU" "$OURS_CPU" "$SINGLE_BYTES" "$LOAD" <<'PY' | tee "$W/export-bench.txt"
import os, sys
n, ps, prss, os_, orss = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
peer_bytes, ours_bytes = os.path.getsize(sys.argv[6]), os.path.getsize(sys.argv[7])
pcpu, ocpu, single = float(sys.argv[8]), float(sys.argv[9]), int(sys.argv[10])
print(f"export of {n:,} request_rollup rows to gzip CSV (level 6); load average before: {sys.argv[11]}")
print(f"  {'tool':<14}{'seconds':>9}{'CPU s':>8}{'rows/s':>12}{'peak RSS MB':>13}{'file MB':>9}")
print(f"  {'peer-export':<14}{ps:>9.2f}{pcpu:>8.2f}{n / ps:>12,.0f}{prss / 1024:>13.1f}{peer_bytes / 1e6:>9.1f}")
print(f"  {'aoai-audit':<14}{os_:>9.2f}{ocpu:>8.2f}{n / os_:>12,.0f}{orss / 1024:>13.1f}{ours_bytes / 1e6:>9.1f}")
ratio = ps / os_
print(f"  speed ratio ours/peer: {ratio:.2f}x (goal >= 1.5x: {'met' if ratio >= 1.5 else 'NOT met'}); "
      f"our peak RSS {orss / 1024:.1f} MB (goal <= 100 MB: {'met' if orss / 1024 <= 100 else 'NOT met'})")
print(f"  our file {ours_bytes:,} bytes vs {single:,} for one gzip -6 stream of the same CSV: {(ours_bytes / single - 1) * 100:+.3f} %")
PY
