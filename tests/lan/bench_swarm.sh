#!/usr/bin/env bash
# `make bench-swarm`: one seed and N getters on the LAN testbed, every link
# tbf-shaped to the same rate both ways. Per N: an iperf3 ring measures what
# a link carries, then lanswarm, HTTP (nginx on the seed's host, curl on every
# getter) and BitTorrent (python3-libtorrent, opentracker) each distribute
# the same file on the same links. Getters start together (released by one
# FIFO); a getter's completion time runs from that release to its file being
# whole. Getters keep seeding until all are done (lanswarm, BitTorrent).
#
#   host 1: coordinator / tracker   host 2: the seed   hosts 3..N+2: getters
#
# Environment: BENCH_N ("8 16"), BENCH_MIB (128), BENCH_RATE ("8=100mbit
# 16=50mbit": 16 getters at 100 Mbit/s saturate this 2-core machine's
# softirq time; or one rate for every N),
# BENCH_CHUNK (256K, also the torrent's piece size), BENCH_SYSTEMS
# ("lanswarm http bittorrent"), BENCH_OUT (build/bench-swarm), and
# SWARM_LATENCY_MS (1: lanswarm's simulated one-way latency).
# Writes $BENCH_OUT/times.tsv, summary.md and swarm.png (gnuplot).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lan/lan.sh
source tests/lan/swarm.sh

ns_list=${BENCH_N:-8 16}
mib=${BENCH_MIB:-128}
rates=${BENCH_RATE:-8=100mbit 16=50mbit}
chunk=${BENCH_CHUNK:-256K}
systems=${BENCH_SYSTEMS:-lanswarm http bittorrent}
out=$(mkdir -p "${BENCH_OUT:-build/bench-swarm}" && cd "${BENCH_OUT:-build/bench-swarm}" && pwd)
# rate_for N: the link rate for N getters from BENCH_RATE, either one rate
# for all ("100mbit") or N=rate pairs ("8=100mbit 16=50mbit").
rate_for() {
  local r
  for r in $rates; do
    if [[ $r != *=* ]]; then echo "$r"; return; fi
    [ "${r%%=*}" = "$1" ] && { echo "${r#*=}"; return; }
  done
  lan_die "BENCH_RATE has no rate for N=$1: $rates"
}
for t in iperf3 nginx curl opentracker gnuplot /usr/bin/python3; do
  command -v "$t" >/dev/null || lan_die "'$t' is missing; run 'make bench-swarm', which installs it"
done

lan_init
work=$(mktemp -d /dev/shm/lanswarm-bench-XXXXXX)
# nginx's workers and opentracker drop privileges: they must be able to read it.
chmod 755 "$work"
LAN_ON_EXIT=remove_work
remove_work() { rm -rf "$work"; }
file=$work/data/f.bin
mkdir -p "$work/data"
head -c $((mib * 1024 * 1024)) /dev/urandom >"$file"
bytes=$((mib * 1024 * 1024))
printf 'system\tN\tgetter\tseconds\n' >"$out/times.tsv"
: >"$out/runs.tsv"
rm -f "$out/tmin.tsv.new"

now_ns() { date +%s%N; }
secs() { awk -v ns="$1" 'BEGIN { printf "%.3f", ns / 1e9 }'; }

# Busy CPU share (0-1) between two samples of /proc/stat's first line.
cpu_sample() { head -n 1 /proc/stat; }
cpu_busy() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    n = split(a, x, " "); split(b, y, " ")
    for (i = 2; i <= n; i++) { d = y[i] - x[i]; t += d; if (i == 5 || i == 6) idle += d }
    printf "%.2f", (t - idle) / t }'
}

# iperf3 ring over hosts 2..N+2 (each sends to the next for 5 s at once);
# prints the slowest link's goodput in Mbit/s.
iperf_ring() {
  local n=$1 first=2 last=$(($1 + 2)) h next pids=()
  for h in $(seq $first $last); do lan_spawn "$h" "$work/iperf-s$h.log" iperf3 -s -1 -B "$(lan_ip "$h")"; done
  sleep 0.5
  for h in $(seq $first $last); do
    next=$((h == last ? first : h + 1))
    lan_exec "$h" iperf3 -c "$(lan_ip "$next")" -B "$(lan_ip "$h")" -t 5 -J >"$work/iperf-c$h.json" &
    pids+=($!)
  done
  for h in "${pids[@]}"; do wait "$h"; done
  for h in $(seq $first $last); do
    grep -A 12 '"sum_received"' "$work/iperf-c$h.json" | grep -m 1 bits_per_second | grep -oE '[0-9.]+'
  done | sort -g | head -n 1 | awk '{ printf "%.1f", $1 / 1e6 }'
  lan_kill_all
}

# run_getters N CMD: runs `CMD host` for hosts 3..N+2, all blocked on one
# FIFO until released together. A getter is done when done-HOST holds the
# time it finished (Unix ns): written when CMD succeeds, unless CMD wrote it
# itself (a BitTorrent getter does, then seeds until it is stopped); a CMD
# that fails leaves failed-HOST instead. Sets t0 (ns) to the release time.
run_getters() {
  local n=$1 cmd=$2 h
  rm -f "$work"/done-* "$work"/failed-* "$work/go"
  mkfifo "$work/go"
  for h in $(seq 3 $((n + 2))); do
    (
      read -r _ <"$work/go" || true
      if "$cmd" "$h"; then
        [ -s "$work/done-$h" ] || now_ns >"$work/done-$h"
      else
        echo "getter $h failed" >&2
        : >"$work/failed-$h"
      fi
    ) &
    getter_pids+=($!)
  done
  sleep 1
  t0=$(now_ns)
  cpu0=$(cpu_sample)
  echo >"$work/go"
}

# record SYSTEM N: completion times from done-HOST files (absolute ns).
record() {
  local system=$1 n=$2 h t missing=0 worst=0
  for h in $(seq 3 $((n + 2))); do
    if [ -s "$work/done-$h" ]; then
      t=$(($(cat "$work/done-$h") - t0))
      printf '%s\t%s\t%s\t%s\n' "$system" "$n" "$h" "$(secs "$t")" >>"$out/times.tsv"
      ((t > worst)) && worst=$t
    else
      missing=$((missing + 1))
    fi
  done
  printf '%s\t%s\t%s\t%s\t%s\n' "$system" "$n" "$(secs "$worst")" "$missing" "$(cpu_busy "$cpu0" "$cpu1")" >>"$out/runs.tsv"
  echo "   $system, N=$n: makespan $(secs "$worst") s, $missing getters unfinished, CPU busy $(cpu_busy "$cpu0" "$cpu1")"
}

# wait_done N LIMIT: until every getter has a done file or LIMIT seconds pass.
wait_done() {
  local n=$1 limit=$2 h count
  for _ in $(seq $((limit * 10))); do
    count=0
    for h in $(seq 3 $((n + 2))); do [ -s "$work/done-$h" ] || [ -e "$work/failed-$h" ] && count=$((count + 1)); done
    ((count == n)) && break
    sleep 0.1
  done
  cpu1=$(cpu_sample)
}

check_copies() {
  local n=$1 dir=$2 h bad=0
  for h in $(seq 3 $((n + 2))); do cmp -s "$file" "$dir/got$h/f.bin" || bad=$((bad + 1)); done
  ((bad == 0)) || echo "   WARNING: $bad copies differ from the original" >&2
}

# race SYSTEM N LIMIT CMD DIR: releases the getters, waits up to LIMIT
# seconds for all, records their times and compares DIR/gotHOST/f.bin with
# the original. The caller stops what keeps running, then reaps getter_pids.
race() {
  local system=$1 n=$2 limit=$3 cmd=$4 dir=$5
  getter_pids=()
  run_getters "$n" "$cmd"
  wait_done "$n" "$limit"
  record "$system" "$n"
  check_copies "$n" "$dir"
}

reap_getters() {
  local pid
  for pid in "${getter_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}

lanswarm_getter() { swarm_get "$1" "$file.fileinfo" "$work/lanswarm/got$1/f.bin" --quiet; }
run_lanswarm() {
  local n=$1 h
  swarm_init "$work/lanswarm"
  SWARM_CHUNK_SIZE=$chunk swarm_coordinator 1
  for h in $(seq 2 $((n + 2))); do swarm_peer "$h"; done
  for h in $(seq 3 $((n + 2))); do mkdir -p "$work/lanswarm/got$h"; done
  SWARM_CHUNK_SIZE=$chunk swarm_share 2 "$file"
  swarm_wait_entries 1
  race lanswarm "$n" 300 lanswarm_getter "$work/lanswarm"
  echo "   the seed uploaded $(($(swarm_uploaded_bytes 2) / 1048576)) MiB"
  swarm_stop
  lan_kill_all
  reap_getters
  rm -rf "$work/lanswarm"
}

http_getter() {
  lan_exec "$1" curl -sS --fail -o "$work/http/got$1/f.bin" "http://$(lan_ip 2):8080/f.bin"
}
run_http() {
  local n=$1 h
  mkdir -p "$work/http"
  cat >"$work/http/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $work/http/nginx.pid;
error_log $work/http/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $work/http/tmp;
  server { listen $(lan_ip 2):8080; root $work/data; }
}
EOF
  lan_spawn 2 "$work/http/nginx.out" nginx -c "$work/http/nginx.conf" -p "$work/http"
  for _ in $(seq 50); do lan_exec 2 curl -s -o /dev/null -r 0-0 "http://$(lan_ip 2):8080/f.bin" && break; sleep 0.1; done
  for h in $(seq 3 $((n + 2))); do mkdir -p "$work/http/got$h"; done
  race http "$n" 900 http_getter "$work/http"
  lan_kill_all
  reap_getters
  rm -rf "$work/http"
}

# Writes done-HOST itself when whole, then seeds until lan_kill_all stops it.
bt_getter() {
  lan_exec "$1" /usr/bin/python3 tests/lan/bt_node.py get \
    "$work/bt/f.torrent" "$work/bt/got$1" "$(lan_ip "$1")" "$work/done-$1" >"$work/bt/node$1.log" 2>&1
}
run_bittorrent() {
  local n=$1 h hash
  mkdir -p "$work/bt/tracker"
  hash=$(/usr/bin/python3 tests/lan/bt_node.py make "$file" "$work/bt/f.torrent" \
    "http://$(lan_ip 1):6969/announce" "$(numfmt --from=iec "$chunk")")
  # opentracker chroots into -d before it reads the whitelist: the list's
  # path is the one inside that directory.
  echo "$hash" >"$work/bt/tracker/whitelist.txt"
  chmod -R a+rX "$work/bt/tracker"
  lan_spawn 1 "$work/bt/tracker.log" opentracker -i "$(lan_ip 1)" -p 6969 -P 6969 \
    -d "$work/bt/tracker" -w /whitelist.txt -u nobody
  lan_spawn 2 "$work/bt/seed.log" /usr/bin/python3 tests/lan/bt_node.py seed "$work/bt/f.torrent" "$work/data" "$(lan_ip 2)"
  sleep 2  # the seed announces first: the getters learn of it from the tracker
  for h in $(seq 3 $((n + 2))); do mkdir -p "$work/bt/got$h"; done
  race bittorrent "$n" 600 bt_getter "$work/bt"
  lan_kill_all
  reap_getters
  rm -rf "$work/bt"
}

for n in $ns_list; do
  rate=$(rate_for "$n")
  [[ $rate =~ ^([0-9]+)mbit$ ]] || lan_die "BENCH_RATE: rates are in mbit, like 100mbit, not $rate"
  rate_mbit=${BASH_REMATCH[1]}
  echo "== N=$n getters + 1 seed, $mib MiB, every link $rate both ways, chunk $chunk"
  lan_up $((n + 2)) "$rate"
  goodput=$(iperf_ring "$n")
  echo "   iperf3 ring over $((n + 1)) hosts: slowest link $goodput Mbit/s (tbf rate $rate_mbit)"
  # Kumar-Ross: T_min = max(F/u_s, F/d_min, N*F/(u_s + sum u_i)); equal links.
  for u in "$rate_mbit" "$goodput"; do
    awk -v f="$bytes" -v n="$n" -v u="$u" 'BEGIN {
      bits = f * 8; us = u * 1e6
      a = bits / us; c = n * bits / (us + n * us); t = a > c ? a : c
      printf "%.3f\n", t }'
  done | paste -sd '\t' | awk -v n="$n" -v g="$goodput" -v r="$rate_mbit" '{ printf "%s\t%s\t%s\t%s\t%s\n", n, r, g, $1, $2 }' >>"$out/tmin.tsv.new"
  for s in $systems; do
    case $s in
      lanswarm) run_lanswarm "$n" ;;
      http) run_http "$n" ;;
      bittorrent) run_bittorrent "$n" ;;
      *) lan_die "unknown system '$s'" ;;
    esac
  done
  lan_down
done
mv "$out/tmin.tsv.new" "$out/tmin.tsv"
tests/lan/bench_report.sh "$out" "$mib"
