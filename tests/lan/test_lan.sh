#!/usr/bin/env bash
# `make test-lan`: lanswarm across a LAN of network namespaces (tests/lan/lan.sh).
# Ten hosts on 100 Mbit/s links shaped both ways; host 1 runs the coordinator.
# Each scenario runs in a subshell on fresh state; whatever it leaves running
# is stopped before the next. Needs root.
#
# Environment: LANSWARM_BIN_DIR (default bin/), LAN_RATE (default 100mbit),
# LAN_ONLY=name to run one scenario, LAN_KEEP=1 to keep the work directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lan/lan.sh
source tests/lan/swarm.sh

rate=${LAN_RATE:-100mbit}
hosts=10
work=""
passed=0
failed=0
failures=()

lan_init
# Files live in RAM when there is room: this is a test of the network, and a
# slow disk's writeback would only add noise.
base=/dev/shm
[ -d "$base" ] && [ "$(df -Pk "$base" | awk 'NR == 2 { print $4 }')" -gt $((2 * 1024 * 1024)) ] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/lanswarm-lan-XXXXXX")
remove_work() { [ "${LAN_KEEP:-}" = 1 ] && echo "kept $work" || rm -rf "$work"; }
LAN_ON_EXIT=remove_work

echo "== a LAN of $hosts hosts, every link $rate both ways (tbf), $SWARM_LATENCY_MS ms of simulated latency"
lan_up "$hosts" "$rate"

# The classic demo across the LAN: 2 holders, 1 getter that uses both.
scenario_classic() {
  swarm_random_file "$SWARM_DIR/a.bin" 48
  swarm_coordinator 1
  swarm_peer 2
  swarm_peer 3
  swarm_peer 4
  swarm_share 2 "$SWARM_DIR/a.bin"
  swarm_share 3 "$SWARM_DIR/a.bin"
  swarm_wait_entries 2
  swarm_get 4 "$SWARM_DIR/a.bin.fileinfo" "$SWARM_DIR/got.bin" || lan_die "peer get failed: $(cat "$SWARM_DIR/get-4.err")"
  swarm_expect_copy 4 "$SWARM_DIR/a.bin" "$SWARM_DIR/got.bin"
  local up2 up3
  up2=$(swarm_uploaded_bytes 2)
  up3=$(swarm_uploaded_bytes 3)
  echo "   host 2 uploaded $up2 B, host 3 uploaded $up3 B, in $(swarm_get_field 4 elapsed_seconds) s"
  ((up2 > 8 * 1048576 && up3 > 8 * 1048576)) || lan_die "the getter did not download from both holders"
  swarm_wait_entries 3
}

# One seed and 8 getters starting at once: all complete byte-exact, and the
# getters serve each other (the seed sends far less than 8 copies).
scenario_seed_and_8() {
  local mib=32 h pids=() fails=0 seed_up
  swarm_random_file "$SWARM_DIR/b.bin" "$mib"
  swarm_coordinator 1
  for h in $(seq 2 10); do swarm_peer "$h"; done
  swarm_share 2 "$SWARM_DIR/b.bin"
  swarm_wait_entries 1
  for h in $(seq 3 10); do
    swarm_get "$h" "$SWARM_DIR/b.bin.fileinfo" "$SWARM_DIR/got$h.bin" &
    pids+=($!)
  done
  for h in "${pids[@]}"; do wait "$h" || fails=$((fails + 1)); done
  ((fails == 0)) || lan_die "$fails of 8 getters failed"
  for h in $(seq 3 10); do swarm_expect_copy "$h" "$SWARM_DIR/b.bin" "$SWARM_DIR/got$h.bin"; done
  seed_up=$(swarm_uploaded_bytes 2)
  echo "   the seed uploaded $((seed_up / 1048576)) MiB for 8 × $mib MiB; slowest getter $(for h in $(seq 3 10); do swarm_get_field "$h" elapsed_seconds; done | sort -g | tail -n 1) s"
  ((seed_up < 4 * mib * 1048576)) || lan_die "the seed sent $seed_up B: the getters did not share among themselves"
  swarm_wait_entries 9
}

# A holder dies (kill -9) mid-transfer: the getter finishes from the other.
scenario_holder_killed() {
  swarm_random_file "$SWARM_DIR/c.bin" 64
  swarm_coordinator 1
  swarm_peer 2
  swarm_peer 3
  swarm_peer 4
  swarm_share 2 "$SWARM_DIR/c.bin"
  swarm_share 3 "$SWARM_DIR/c.bin"
  swarm_wait_entries 2
  swarm_get 4 "$SWARM_DIR/c.bin.fileinfo" "$SWARM_DIR/got.bin" &
  local get=$!
  swarm_wait_verified 4 0.25
  swarm_kill9 3
  echo "   killed host 3's daemon at $(swarm_get_field 4 chunks_verified) of $(swarm_get_field 4 chunk_count) chunks"
  wait "$get" || lan_die "peer get failed after the holder died: $(cat "$SWARM_DIR/get-4.err")"
  swarm_expect_copy 4 "$SWARM_DIR/c.bin" "$SWARM_DIR/got.bin"
  echo "   done in $(swarm_get_field 4 elapsed_seconds) s, $(swarm_get_field 4 retries) retries"
}

# Getters join late: two start with the seed, two join at half-way, one
# after the first ones finished (it can download from them alone).
scenario_late_joiners() {
  swarm_random_file "$SWARM_DIR/d.bin" 48
  swarm_coordinator 1
  local h
  for h in $(seq 2 7); do swarm_peer "$h"; done
  swarm_share 2 "$SWARM_DIR/d.bin"
  swarm_wait_entries 1
  swarm_get 3 "$SWARM_DIR/d.bin.fileinfo" "$SWARM_DIR/got3.bin" &
  local g3=$!
  swarm_get 4 "$SWARM_DIR/d.bin.fileinfo" "$SWARM_DIR/got4.bin" &
  local g4=$!
  swarm_wait_verified 3 0.5
  swarm_get 5 "$SWARM_DIR/d.bin.fileinfo" "$SWARM_DIR/got5.bin" &
  local g5=$!
  swarm_get 6 "$SWARM_DIR/d.bin.fileinfo" "$SWARM_DIR/got6.bin" &
  local g6=$!
  wait "$g3" || lan_die "host 3's get failed"
  wait "$g4" || lan_die "host 4's get failed"
  # The seed leaves: the last joiner has only the getters to download from.
  swarm_kill9 2
  swarm_get 7 "$SWARM_DIR/d.bin.fileinfo" "$SWARM_DIR/got7.bin" || lan_die "host 7's get failed"
  wait "$g5" || lan_die "host 5's get failed"
  wait "$g6" || lan_die "host 6's get failed"
  for h in $(seq 3 7); do swarm_expect_copy "$h" "$SWARM_DIR/d.bin" "$SWARM_DIR/got$h.bin"; done
  echo "   host 7 joined after the seed left and finished in $(swarm_get_field 7 elapsed_seconds) s"
}

run_scenario() {
  local name=$1 start rc
  [ -n "${LAN_ONLY:-}" ] && [ "$LAN_ONLY" != "$name" ] && return 0
  echo "-- $name"
  start=$(date +%s%N)
  set +e
  (
    set -e
    swarm_init "$work/$name"
    "scenario_$name"
    swarm_stop
  )
  rc=$?
  set -e
  lan_kill_all
  local took
  took=$(awk -v ns="$(($(date +%s%N) - start))" 'BEGIN { printf "%.1f", ns / 1e9 }')
  if ((rc == 0)); then
    passed=$((passed + 1))
    echo "   PASS $name (${took} s)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "   FAIL $name (${took} s); logs:" >&2
    swarm_show_logs "$work/$name"
  fi
}

run_scenario classic
run_scenario seed_and_8
run_scenario holder_killed
run_scenario late_joiners

echo
echo "test-lan: $passed passed, $failed failed${failures[*]:+ (${failures[*]})}"
((failed == 0))
