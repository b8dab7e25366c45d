#!/usr/bin/env bash
# tests/sim/plot.sh RESULTS.jsonl OUT.png: makespan / t_min against N (log2
# axis), one line per scenario and policy (the daemon's; "before grants":
# --grant-slots 0), from swarm_sim's
# JSON lines; runs of the same line and N are averaged. Needs python3 and
# gnuplot.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 RESULTS.jsonl OUT.png" >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "$0: gnuplot is missing (apt-get install gnuplot-nox)" >&2; exit 1; }
data=$(mktemp)
trap 'rm -f "$data"' EXIT
python3 - "$1" >"$data" <<'PY'
import json, sys, collections
runs = collections.defaultdict(list)
with open(sys.argv[1]) as f:
    for line in f:
        d = json.loads(line)
        if d["completed"] > 0:
            name = d["scenario"]
            if d.get("grant_slots", 0) == 0:
                name += ", before grants"
            runs[(name, d["n"])].append(d["ratio"])
for scenario in sorted({s for s, _ in runs}):
    print(f'"{scenario}"')
    for (s, n), r in sorted(runs.items(), key=lambda kv: kv[0][1]):
        if s == scenario:
            print(n, sum(r) / len(r))
    print("\n")
PY
gnuplot <<GP
set terminal pngcairo size 900,540
set output "$2"
set logscale x 2
set logscale y 2
set xlabel "getters N"
set ylabel "makespan / T_min" noenhanced
set key top left
set grid
plot for [i=0:*] "$data" index i using 1:2 with linespoints title columnheader(1)
GP
