#!/usr/bin/env bash
# `make bench-swarm`: one seed and N getters on the LAN testbed
# (tests/lan/lan.sh), the links tbf-shaped as a scenario says
# (tests/lan/bench_links.sh). For each point of the plan (a scenario and an
# N), an iperf3 ring first measures what the links carry, then every system
# (tests/lan/bench_systems.sh) distributes the same file on the same links:
# lanswarm, BitTorrent (libtorrent), and two anchors a sysadmin could build
# by hand: a pipelined `socat | tee | socat` chain and udpcast multicast.
# Getters start together (released by one FIFO); a getter's completion time
# runs from that release to its copy being whole; every copy is `cmp`-checked
# (tests/lan/bench_measure.sh).
#
#   host 1: coordinator / tracker   host 2: the seed   hosts 3..N+2: getters
#
# Plans (BENCH_PLAN, or BENCH_CURVE=1 for the curve):
#   default    N = BENCH_N ("8 16") at BENCH_RATE ("8=100mbit 16=50mbit": one
#              rate for every N, or N=rate pairs), a BENCH_MIB (128) file
#   curve      N = BENCH_N ("4 8 16 32 64") at a fixed aggregate budget:
#              rate = BENCH_BUDGET (1200 Mbit/s) / N, the file sized so that
#              T_min = F/rate is BENCH_SECONDS (12): 429 MiB at N = 4, 27 at 64
#   scenarios  every scenario at N = BENCH_N (8), BENCH_RATE (100mbit), BENCH_MIB
# BENCH_SCENARIO: the scenarios of the default and curve plans (equal), or
# of the scenarios plan (all: equal fast-seed slow-seed weak-uplinks
# slow-getters); see bench_links.sh.
# Also: BENCH_SYSTEMS ("lanswarm bittorrent chain udpcast"; http too),
# BENCH_CHUNK (256K: lanswarm's chunks, the torrent's pieces), BENCH_OUT
# (build/bench-swarm), SWARM_LATENCY_MS (1: lanswarm's simulated latency),
# BENCH_BT_UTP (0: libtorrent over TCP only; 1: its default, uTP and TCP).
# BENCH_KEEP=1 keeps the work directory in /dev/shm (logs, JSON events).
# Writes points.tsv, times.tsv, runs.tsv, hosts.tsv, then (bench_report.sh)
# summary.md, swarm.png and, with two N or more, curve.png, into BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lan/lan.sh
source tests/lan/swarm.sh
source tests/lan/bench_links.sh
source tests/lan/bench_measure.sh
source tests/lan/bench_systems.sh

plan=${BENCH_PLAN:-default}
[ "${BENCH_CURVE:-0}" = 1 ] && plan=curve
case $plan in
  default) ns_list=${BENCH_N:-8 16} scenarios=${BENCH_SCENARIO:-equal} rates=${BENCH_RATE:-8=100mbit 16=50mbit} ;;
  curve) ns_list=${BENCH_N:-4 8 16 32 64} scenarios=${BENCH_SCENARIO:-equal} rates="" ;;
  scenarios) ns_list=${BENCH_N:-8} scenarios=${BENCH_SCENARIO:-$BENCH_SCENARIOS_ALL} rates=${BENCH_RATE:-100mbit} ;;
  *) lan_die "BENCH_PLAN: default, curve or scenarios, not '$plan'" ;;
esac
budget=${BENCH_BUDGET:-1200}
target_seconds=${BENCH_SECONDS:-12}
mib_fixed=${BENCH_MIB:-128}
chunk=${BENCH_CHUNK:-256K}
systems=${BENCH_SYSTEMS:-lanswarm bittorrent chain udpcast}
out=$(mkdir -p "${BENCH_OUT:-build/bench-swarm}" && cd "${BENCH_OUT:-build/bench-swarm}" && pwd)

# A tc rate (100mbit, 37.5mbit, 800kbit) in kbit/s.
kbit_of() {
  awk -v r="$1" 'BEGIN {
    if (r ~ /^[0-9.]+mbit$/) { sub(/mbit$/, "", r); printf "%d\n", r * 1000 }
    else if (r ~ /^[0-9.]+kbit$/) { sub(/kbit$/, "", r); printf "%d\n", r }
    else exit 1 }' || lan_die "rates are in mbit or kbit, like 100mbit, not '$1'"
}
# rate_for N: the link rate (kbit/s) for N getters.
rate_for() {
  local r
  if [ "$plan" = curve ]; then echo $((budget * 1000 / $1)); return; fi
  for r in $rates; do
    if [[ $r != *=* ]]; then kbit_of "$r"; return; fi
    [ "${r%%=*}" = "$1" ] && { kbit_of "${r#*=}"; return; }
  done
  lan_die "BENCH_RATE has no rate for N=$1: $rates"
}
# mib_for RATE_KBIT: the file's size in MiB.
mib_for() {
  if [ "$plan" = curve ]; then
    awk -v k="$1" -v s="$target_seconds" 'BEGIN { m = int(s * k * 1000 / 8 / 1048576 + 0.5); print m < 1 ? 1 : m }'
  else
    echo "$mib_fixed"
  fi
}

for t in iperf3 socat udp-sender udp-receiver nginx curl opentracker gnuplot /usr/bin/python3; do
  command -v "$t" >/dev/null || lan_die "'$t' is missing; run 'make bench-swarm', which installs it"
done
for s in $systems; do
  declare -F "run_$s" >/dev/null || lan_die "unknown system '$s' (lanswarm bittorrent chain udpcast http)"
done

lan_init
work=$(mktemp -d /dev/shm/lanswarm-bench-XXXXXX)
# nginx's workers and opentracker drop privileges: they must be able to read it.
chmod 755 "$work"
LAN_ON_EXIT=remove_work
# BENCH_KEEP=1 keeps the work directory (the daemons' logs, every get's JSON events).
remove_work() { if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi; }
file=$work/data/f.bin
mkdir -p "$work/data"

# iperf_ring: hosts 2..N+2, each sending to the next for 5 s at once. Sets
# goodput, the slowest link's (Mbit/s), and ratio, the lowest of a link's
# goodput to its tbf rate, min(sender's up, receiver's down). It runs in
# this shell, not in a subshell: its lan_kill_all must be over when it returns.
iperf_ring() {
  local first=2 last=$((n + 2)) h next pids=()
  for ((h = first; h <= last; h++)); do lan_spawn "$h" "$work/iperf-s$h.log" iperf3 -s -1 -B "$(lan_ip "$h")"; done
  sleep 0.5
  for ((h = first; h <= last; h++)); do
    next=$((h == last ? first : h + 1))
    lan_exec "$h" iperf3 -c "$(lan_ip "$next")" -B "$(lan_ip "$h")" -t 5 -J >"$work/iperf-c$h.json" &
    pids+=($!)
  done
  for h in "${pids[@]}"; do wait "$h"; done
  for ((h = first; h <= last; h++)); do
    next=$((h == last ? first : h + 1))
    local up=${LINK_UP[h]} down=${LINK_DOWN[next]}
    grep -A 12 '"sum_received"' "$work/iperf-c$h.json" | grep -m 1 bits_per_second | grep -oE '[0-9.]+' |
      awk -v k=$((up < down ? up : down)) '{ print $1 / 1e6, $1 / (k * 1e3) }'
  done | awk 'NR == 1 || $1 < g { g = $1 } NR == 1 || $2 < e { e = $2 } END { printf "%.1f %.3f\n", g, e }' >"$work/ring"
  read -r goodput ratio <"$work/ring"
  lan_kill_all
}

printf 'scenario\tN\trate_kbit\tmib\tbytes\ttmin\tf_us\tf_dmin\tiperf_min_mbit\tiperf_ratio\tload1\tlinks\n' >"$out/points.tsv"
printf 'system\tN\tgetter\tseconds\tscenario\n' >"$out/times.tsv"
printf 'scenario\tN\tsystem\tmakespan\tunfinished\tcpu_busy\tcpu_user\tcpu_system\tcpu_softirq\tfirst\tmedian\tlast\tfast_last\tslow_last\twindow\tcpu_before\n' >"$out/runs.tsv"
printf 'scenario\tN\tsystem\thost\trole\tuser\tsystem\tconnections\n' >"$out/hosts.tsv"
{
  echo "plan=$plan"
  echo "systems=$systems"
  echo "chunk=$chunk"
  echo "bt_utp=$LANSWARM_BT_UTP"
  echo "started=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/meta"
started=$(now_ns)
made_mib=0

for scenario in $scenarios; do
  for n in $ns_list; do
    rate=$(rate_for "$n")
    mib=$(mib_for "$rate")
    bytes=$((mib * 1048576))
    if ((mib != made_mib)); then
      rm -f "$file.fileinfo"
      head -c "$bytes" /dev/urandom >"$file"
      made_mib=$mib
    fi
    links_setup "$scenario" "$n" "$rate"
    read -r tmin f_us f_dmin < <(links_bound "$bytes")
    read -r load1 _ </proc/loadavg
    echo "== $scenario, N=$n getters + 1 seed, $mib MiB, $LINK_DESC, chunk $chunk; T_min $tmin s (load $load1)"
    lan_up $((n + 2)) "${rate}kbit"
    links_apply
    iperf_ring
    echo "   iperf3 ring over $((n + 1)) hosts: slowest link $goodput Mbit/s, lowest goodput / tbf rate $ratio"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$n" "$rate" "$mib" "$bytes" "$tmin" \
      "$f_us" "$f_dmin" "$goodput" "$ratio" "$load1" "$LINK_DESC" >>"$out/points.tsv"
    for s in $systems; do "run_$s"; done
    lan_down
  done
done
{
  echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "minutes=$(awk -v ns=$(($(now_ns) - started)) 'BEGIN { printf "%.1f", ns / 6e10 }')"
} >>"$out/meta"
tests/lan/bench_report.sh "$out"
