#!/usr/bin/env bash
# Correlation at scale: 30 days of an estate doing 1,000,000 requests a day.
#
#   Benchmarks/correlate-bench.sh
#
# Writes the per-minute rollups directly (30 days x 1 M requests of JSON would be ~25 GB):
# 8 accounts x 6 callers, ~694 requests a minute in all, a 0.25 % background 401 trickle, and
# 6 planted bursts (key rotations, a role removal, a local-auth toggle) with their changes; the
# failure rows of the bursts and the trickle are written too. Then times `aoai-audit correlate`
# over the 30 days (median of 3) and checks that it found the planted bursts.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
W=$ROOT/.bench-out
BIN=${AOAI_AUDIT:-$ROOT/.build/release/aoai-audit}
cd "$ROOT"
mkdir -p "$W"
[[ -n ${BENCH_SKIP_BUILD:-} ]] || swift build -c release >&2
DB=$W/correlate.db
if [[ ! -f $DB ]]; then
    mkdir -p "$W/empty"
    "$BIN" import "$W/empty" --db "$DB" > /dev/null
    echo "== writing 30 days of rollups for 1 M requests/day" >&2
    python3 - "$DB" <<'PY'
import random, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA synchronous=OFF")
rnd = random.Random(5)
START = 1788220800 * 1_000_000            # 2026-09-01T00:00:00Z
MIN = 60_000_000
DAYS = 30
accounts = [f"/subscriptions/sub{a % 2}/resourcegroups/rg{a % 3}/providers/microsoft.cognitiveservices/accounts/aoai-bench-{a}" for a in range(8)]
def dim(kind, value):
    db.execute("INSERT OR IGNORE INTO dims(kind, value) VALUES (?, ?)", (kind, value))
    return db.execute("SELECT id FROM dims WHERE kind=? AND value=?", (kind, value)).fetchone()[0]
res = [dim("resource", a) for a in accounts]
callers = {}
for a in range(8):
    callers[a] = []
    for c in range(6):
        name = f"10.{a}.{c}.***" if c < 3 else f"{a:08d}-0000-4000-8000-{c:012d}"
        callers[a].append((dim("caller", name), name, c < 3))
dep, api, op = dim("deployment", "gpt-4o"), dim("api_version", "2024-10-21"), dim("operation", "ChatCompletions_Create")
# planted bursts: (account, start minute, minutes, affected caller indexes, status, change kind)
plants = [(0, 3 * 1440 + 600, 40, [0, 1, 2], 401, "key_regenerated"), (1, 7 * 1440 + 200, 30, [4], 401, "role_assignment_deleted"),
          (2, 12 * 1440 + 900, 60, [0, 1, 2], 403, "local_auth_disabled"), (3, 18 * 1440 + 100, 25, [0, 1, 2], 401, "key_regenerated"),
          (4, 22 * 1440 + 1200, 45, [5], 401, "role_assignment_deleted"), (5, 27 * 1440 + 300, 50, [0, 1, 2], 401, "key_regenerated")]
hot = {}
for (a, m0, n, cs, st, kind) in plants:
    for m in range(m0, m0 + n):
        for c in cs: hot[(a, c, m)] = st
    t = START + (m0 - 5) * MIN
    principal = callers[a][cs[0]][1] if kind == "role_assignment_deleted" else None
    db.execute("INSERT INTO changes(dedupe_key, time_us, kind, resource_id, actor, summary, source_kind, source_id, correlation_id, principal_id, source) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
               (f"bench:{a}:{m0}", t, kind, accounts[a], "ops@contoso.com", f"{kind} on aoai-bench-{a}", "activity", f"evt-{a}-{m0}", f"corr-{a}-{m0}", principal, "bench"))
rows, fails = [], []
per = 1_000_000 / 1440 / 48                  # requests per caller-minute
fid = 0
for m in range(DAYS * 1440):
    mu = START + m * MIN
    for a in range(8):
        for c in range(6):
            n = max(1, int(rnd.gauss(per, per ** 0.5)))
            st = hot.get((a, c, m))
            f = n if st else sum(1 for _ in range(n) if rnd.random() < 0.0025)
            if n - f: rows.append((mu, res[a], dep, callers[a][c][0], api, op, 200, n - f, 0))
            if f:
                rows.append((mu, res[a], dep, callers[a][c][0], api, op, st or 401, f, 0))
                for k in range(min(f, 3)):
                    fid += 1
                    _, name, key = callers[a][c]
                    fails.append((fid, mu + k * 1_000_000, res[a], "RequestResponse", "ChatCompletions_Create", st or 401, "gpt-4o", "", "" if key else name, name if key else "0.0.0.***", "2024-10-21", f"c{fid}", "bench"))
    if len(rows) > 200_000:
        db.executemany("INSERT INTO request_rollup VALUES (?,?,?,?,?,?,?,?,?)", rows); rows = []
db.executemany("INSERT INTO request_rollup VALUES (?,?,?,?,?,?,?,?,?)", rows)
db.executemany("INSERT INTO request_failures(fingerprint, time_us, resource, category, operation, status, deployment, model, object_id, caller_ip, api_version, correlation_id, source) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", fails)
db.commit()
print("rollup rows:", db.execute("SELECT count(*) FROM request_rollup").fetchone()[0], "requests:", db.execute("SELECT sum(count) FROM request_rollup").fetchone()[0], file=sys.stderr)
PY
fi
times=()
for _ in 1 2 3; do
    s=$(date +%s%N)
    "$BIN" correlate --db "$DB" --since 2026-09-01 --until 2026-10-01 --format json --dry-run > "$W/correlate.json"
    e=$(date +%s%N)
    times+=($(( (e - s) / 1000000 )))
done
med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
found=$(python3 -c "import json; d=json.load(open('$W/correlate.json')); print(len(d['bursts']), sorted(b['top_cause']['kind'] for b in d['bursts']))")
echo "correlate over 30 days x 1 M requests/day: median ${med} ms of 3 runs (goal <= 5000 ms); bursts: $found (6 planted)"
