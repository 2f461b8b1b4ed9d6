#!/usr/bin/env bash
# Correlation accuracy over planted scenarios the engine has not been tuned on one by one.
#
#   Benchmarks/correlate-accuracy.sh [FIRST_SEED=1] [LAST_SEED=10]
#   BENCH_RPM=5 Benchmarks/correlate-accuracy.sh     # a quiet estate (requests per minute per account; default 60)
#
# For each seed: `aoai-audit generate --planted` (a day of an estate with 4-7 planted bursts
# of every kind, decoys and a 401 trickle, plus truth.json), import, correlate, and compare with
# the truth: a planted burst is found when a burst on its resource starts within 10 minutes of
# it; right when the top cause has the planted kind and cites the planted evidence id; a
# detected burst matching nothing planted is spurious unless it shares a fleet with a found one.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
W=$ROOT/.bench-out/accuracy
BIN=${AOAI_AUDIT:-$ROOT/.build/release/aoai-audit}
FIRST=${1:-1}
LAST=${2:-10}
mkdir -p "$W"
[[ -n ${BENCH_SKIP_BUILD:-} ]] || swift build -c release >&2
for seed in $(seq "$FIRST" "$LAST"); do
    d=$W/seed-$seed
    rm -rf "$d" "$d.db" "$d.db-wal" "$d.db-shm"
    "$BIN" generate --planted --out "$d" --seed "$seed" --requests-per-minute "${BENCH_RPM:-60}" > /dev/null
    "$BIN" import "$d/activity" "$d/diagnostics" "$d/status" "$d/repos" --db "$d.db" > /dev/null
    start=$(python3 -c "import json; print(json.load(open('$d/truth.json'))['start'])")
    end=$(python3 -c "import json; print(json.load(open('$d/truth.json'))['end'])")
    "$BIN" correlate --db "$d.db" --since "$start" --until "$end" --format json --dry-run > "$d.json"
done
python3 - "$W" "$FIRST" "$LAST" <<'PY'
import json, sys
from datetime import datetime
W, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def t(s):
    s = s.rstrip("Z")
    if "." in s:
        a, f = s.split("."); s = a + "." + f[:6]
        return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f").timestamp()
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").timestamp()
tot = dict(planted=0, found=0, kind=0, evidence=0, spurious=0)
for seed in range(first, last + 1):
    truth = json.load(open(f"{W}/seed-{seed}/truth.json"))
    rep = json.load(open(f"{W}/seed-{seed}.json"))["bursts"]
    used = set()
    for p in truth["bursts"]:
        tot["planted"] += 1
        cands = [i for i, b in enumerate(rep) if i not in used and b["resource_id"].lower() == p["resource_id"].lower() and abs(t(b["start"]) - t(p["start"])) <= 600]
        if not cands:
            print(f"seed {seed}: MISSED {p['kind']} on {p['resource_id'].split('/')[-1]} at {p['start']}"); continue
        i = min(cands, key=lambda i: abs(t(rep[i]["start"]) - t(p["start"]))); used.add(i); tot["found"] += 1
        top = rep[i]["top_cause"]
        if top["kind"] == p["kind"]:
            tot["kind"] += 1
            ids = {e["source_id"] for e in top["evidence"]}
            if all(e in ids for e in p["evidence"]): tot["evidence"] += 1
            else: print(f"seed {seed}: {p['kind']} evidence {sorted(ids)} != {p['evidence']}")
        else:
            print(f"seed {seed}: {p['kind']} on {p['resource_id'].split('/')[-1]} at {p['start']} -> {top['kind']} ({top['score']}): {top['explanation'][:160]}")
    fleets = {rep[i]["fleet_id"] for i in used if rep[i]["fleet_id"]}
    for i, b in enumerate(rep):
        if i in used or (b["fleet_id"] and b["fleet_id"] in fleets): continue
        tot["spurious"] += 1
        print(f"seed {seed}: SPURIOUS {b['resource_id'].split('/')[-1]} at {b['start']} ({b['failures']} failures, callers {b['callers']}, {b['top_cause']['kind']})")
p = tot["planted"]
print(f"seeds {first}-{last}: planted {p}, found {tot['found']}, right cause {tot['kind']} ({100*tot['kind']/max(1,p):.1f} %), "
      f"right cause with evidence {tot['evidence']} ({100*tot['evidence']/max(1,p):.1f} %), spurious {tot['spurious']}")
PY
