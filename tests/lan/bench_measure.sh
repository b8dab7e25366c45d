# shellcheck shell=bash
# Racing the getters of one system and measuring the race, for
# tests/lan/bench_swarm.sh (sourced after lan.sh). Reads the run's globals:
# work, out, n (getters), scenario, file, bytes, tmin.
#
#   race SYSTEM LIMIT CMD DIR [RELEASE]
#       starts `CMD HOST` for every getter (hosts 3..N+2) and `RELEASE`, if
#       given, all blocked on one FIFO and released together; waits up to
#       LIMIT seconds for every getter; records the race; compares every
#       DIR/gotHOST/f.bin with the original. The caller stops what keeps
#       running (lan_kill_all), then calls reap_getters.
#
# A getter is done when $work/done-HOST holds the time (Unix ns) its copy
# was whole: written when CMD returns success, unless CMD wrote it itself
# first (a BitTorrent getter, which seeds on; a chain's getter, which knows
# the size). A CMD that fails leaves failed-HOST instead.
#
# What a race records (one line per race, or per host, in $out):
#   times.tsv  system N getter seconds scenario
#   runs.tsv   scenario N system makespan unfinished cpu_busy cpu_user cpu_system
#              cpu_softirq first median last fast_last slow_last window cpu_before
#   hosts.tsv  scenario N system host role user system connections
# cpu_*: shares (0-1) of the whole machine (both cores) between the release
# and the last getter, from /proc/stat; cpu_before: its busy share in the
# second before the release, with everything started and waiting: what else
# runs on the machine (it is shared). hosts.tsv's user and system: the CPU
# seconds, from /proc/PID/stat, of the processes on that host that still run
# at the end (the daemons and seeds; "-" where none does), over the same
# window, in cores; connections: established TCP connections other than to
# host 1 (coordinator, tracker), sampled once when T_min/2 has passed.
# fast_last and slow_last: the last getter at the fastest and at a slower
# download rate (links_slow), "-" when there is none.

now_ns() {
  local t=${EPOCHREALTIME//[!0-9]/}
  echo "${t}000"
}
secs() { awk -v ns="$1" 'BEGIN { printf "%.3f", ns / 1e9 }'; }

cpu_sample() {
  local line
  read -r line </proc/stat
  echo "$line"
}

# cpu_split A B: "busy user system softirq" shares between two samples of
# /proc/stat's cpu line (user nice system idle iowait irq softirq steal guest
# guest_nice; guest time is already in user). iowait counts as idle.
cpu_split() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    split(a, x, " "); split(b, y, " ")
    for (i = 2; i <= 9; i++) { d[i] = y[i] - x[i]; t += d[i] }
    if (t <= 0) t = 1
    user = d[2] + d[3]; sys = d[4]; soft = d[7] + d[8]
    printf "%.3f %.3f %.3f %.3f\n", (user + sys + soft) / t, user / t, sys / t, soft / t }'
}

# "host pid utime stime" (clock ticks) for every process in the testbed.
proc_snapshot() {
  local h pid line f
  for ((h = 1; h <= n + 2; h++)); do
    for pid in $(ip netns pids "$(lan_ns "$h")" 2>/dev/null); do
      read -r line 2>/dev/null <"/proc/$pid/stat" || continue
      read -ra f <<<"${line##*) }"
      echo "$h $pid ${f[11]} ${f[12]}"
    done
  done
}

# "host connections" for hosts 2..N+2 (see above).
conns_sample() {
  local h c1
  c1="$(lan_ip 1):"
  for ((h = 2; h <= n + 2; h++)); do
    echo "$h $(lan_exec "$h" ss -Htn state established 2>/dev/null | awk -v c="$c1" 'index($4, c) != 1' | wc -l)"
  done
}

run_getters() {
  local cmd=$1 release=${2:-} h
  rm -f "$work"/done-* "$work"/failed-* "$work/go" "$work/conns"
  mkfifo "$work/go"
  for ((h = 3; h <= n + 2; h++)); do
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
  if [ -n "$release" ]; then
    (
      read -r _ <"$work/go" || true
      "$release" || echo "$release failed" >&2
    ) &
    getter_pids+=($!)
  fi
  proc_snapshot >"$work/procs0"
  cpu_pre=$(cpu_sample)
  sleep 1
  t0=$(now_ns)
  cpu0=$(cpu_sample)
  echo >"$work/go"
}

# wait_done LIMIT: until every getter is done or failed, or LIMIT seconds
# passed; samples the connections once on the way.
wait_done() {
  local limit=$1 h count end mid
  end=$((t0 + limit * 1000000000))
  # In bash: mawk's printf %d stops at 2^31 - 1.
  mid=$((t0 + $(awk -v t="$tmin" 'BEGIN { printf "%d", t * 500 }') * 1000000))
  while :; do
    count=0
    for ((h = 3; h <= n + 2; h++)); do
      [ -s "$work/done-$h" ] || [ -e "$work/failed-$h" ] && count=$((count + 1))
    done
    ((count == n)) && break
    t1=$(now_ns)
    ((t1 > end)) && break
    if [ ! -e "$work/conns" ] && ((t1 >= mid)); then conns_sample >"$work/conns"; fi
    sleep 0.1
  done
  t1=$(now_ns)
  cpu1=$(cpu_sample)
  proc_snapshot >"$work/procs1"
  [ -e "$work/conns" ] || conns_sample >"$work/conns"
}

# record SYSTEM: appends the race to times.tsv, runs.tsv and hosts.tsv.
record() {
  local system=$1 h t missing=0 window stats cpu before first median last fast_last slow_last busy user sys soft
  : >"$work/times"
  for ((h = 3; h <= n + 2; h++)); do
    if [ -s "$work/done-$h" ]; then
      t=$(secs $(($(cat "$work/done-$h") - t0)))
      printf '%s\t%s\t%s\t%s\t%s\n' "$system" "$n" "$h" "$t" "$scenario" >>"$out/times.tsv"
      if links_slow "$h"; then echo "$t slow" >>"$work/times"; else echo "$t fast" >>"$work/times"; fi
    else
      missing=$((missing + 1))
    fi
  done
  window=$(secs $((t1 - t0)))
  # first median last fast_last slow_last
  stats=$(sort -g "$work/times" | awk '
    { v[NR] = $1; last[$2] = $1 }
    END {
      if (NR == 0) { print "- - - - -"; exit }
      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%s %.3f %s %s %s\n", v[1], m, v[NR], ("fast" in last) ? last["fast"] : "-", ("slow" in last) ? last["slow"] : "-" }')
  cpu=$(cpu_split "$cpu0" "$cpu1")
  read -r first median last fast_last slow_last <<<"$stats"
  read -r busy user sys soft <<<"$cpu"
  before=$(cpu_split "$cpu_pre" "$cpu0")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$n" "$system" "$last" "$missing" \
    "$busy" "$user" "$sys" "$soft" "$first" "$median" "$last" "$fast_last" "$slow_last" "$window" "${before%% *}" >>"$out/runs.tsv"
  # Per host: CPU of what still runs at the end, over the window; connections.
  awk -v hz="$(getconf CLK_TCK)" -v w="$window" -v s="$scenario" -v n="$n" -v sys="$system" '
    FILENAME == ARGV[1] { u0[$2] = $3; s0[$2] = $4; next }
    FILENAME == ARGV[2] { host[$1] = 1; u[$1] += $3 - u0[$2]; k[$1] += $4 - s0[$2]; next }
    { c[$1] = $2 }
    END {
      for (h = 2; h <= n + 2; h++) {
        role = h == 2 ? "seed" : "getter"
        if (h in host) printf "%s\t%s\t%s\t%s\t%s\t%.3f\t%.3f\t%s\n", s, n, sys, h, role, u[h] / hz / w, k[h] / hz / w, c[h]
        else printf "%s\t%s\t%s\t%s\t%s\t-\t-\t%s\n", s, n, sys, h, role, c[h]
      } }' "$work/procs0" "$work/procs1" "$work/conns" >>"$out/hosts.tsv"
  echo "   $system: makespan ${last} s ($(awk -v m="$last" -v t="$tmin" 'BEGIN { printf "%.3f", m / t }') x T_min)," \
    "first ${first}, median ${median}, $missing unfinished; CPU busy $busy (user $user, system $sys, softirq $soft; ${before%% *} in the second before)"
}

check_copies() {
  local dir=$1 h bad=0
  for ((h = 3; h <= n + 2; h++)); do cmp -s "$file" "$dir/got$h/f.bin" || bad=$((bad + 1)); done
  ((bad == 0)) || echo "   WARNING: $bad copies differ from the original" >&2
  echo "   copies checked with cmp: $((n - bad)) of $n identical"
}

race() {
  local system=$1 limit=$2 cmd=$3 dir=$4 release=${5:-}
  getter_pids=()
  run_getters "$cmd" "$release"
  wait_done "$limit"
  record "$system"
  check_copies "$dir"
}

reap_getters() {
  local pid
  for pid in "${getter_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
