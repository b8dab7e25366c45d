#!/usr/bin/env bash
# `make test-faults`: lanswarm under faults on the LAN testbed (tests/lan/lan.sh,
# tests/lan/swarm.sh); doc/reliability.md says what each scenario proves.
#
#   holder_kill9        kill -9 of a holder mid-transfer, FAULTS_TRIALS (20) times
#   getter_kill9        kill -9 of the getter's daemon, then the same `peer get`
#                       resumes without fetching a chunk it holds
#   coordinator_restart kill -9 of the coordinator mid-swarm, started again at once
#   corrupt_peer        a peer serving corrupt chunks (tests/support/corrupt_peer.cc)
#   disk_full           the getter's disk (a tmpfs) too small, then freed
#   auth_no_key         peers without the cluster key (none, or another) and a
#                       raw client get no byte; one with the key gets the file
#   hostile_swarm       an honest seed and 40 stalling fake peer ids
#                       (tests/support/stall_peer.cc): three getters within 2x
#                       of their time without the stallers
#                       (tests/lan/faults_hostile_swarm.sh)
#
# Every scenario runs with a cluster key (peer gen-key), as production would.
#
# Each scenario runs in a subshell on fresh state (its own directory, no
# process left from the one before). Randomness comes from one seed, printed
# at the start: FAULTS_SEED=N reproduces a run's choices. Needs root.
#
# Environment: LANSWARM_BIN_DIR (default bin/), LANSWARM_FAULT_TOOLS (where
# corrupt_peer and stall_peer are, default build/release/tests), FAULTS_RATE
# (default 50mbit), FAULTS_TRIALS (default 20), FAULTS_SEED, FAULTS_ONLY=name
# to run one scenario (hostile-swarm is hostile_swarm), FAULTS_KEEP=1 to keep
# the work directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lan/lan.sh
source tests/lan/swarm.sh
# Scenario (g), hostile_swarm, in a file of its own.
source tests/lan/faults_hostile_swarm.sh

rate=${FAULTS_RATE:-50mbit}
trials=${FAULTS_TRIALS:-20}
seed=${FAULTS_SEED:-$(($(date +%s) % 100000))}
tools=$(cd "${LANSWARM_FAULT_TOOLS:-build/release/tests}" 2>/dev/null && pwd) || tools=""
hosts=5
# Every `peer get` here ends within this many seconds, or its scenario fails.
export SWARM_GET_TIMEOUT=${SWARM_GET_TIMEOUT:-90}
work=""
disk=""
disk2=""
scenario_pid=""
passed=0
failed=0
failures=()

for tool in corrupt_peer stall_peer; do
  if [ -z "$tools" ] || [ ! -x "$tools/$tool" ]; then
    lan_die "no $tool in ${LANSWARM_FAULT_TOOLS:-build/release/tests}; run 'make test-faults'"
  fi
done
lan_init
base=/dev/shm
[ -d "$base" ] && [ "$(df -Pk "$base" | awk 'NR == 2 { print $4 }')" -gt $((1024 * 1024)) ] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/lanswarm-faults-XXXXXX")
# Every scenario runs with a cluster key, as a production cluster would.
"$(cd "${LANSWARM_BIN_DIR:-bin}" && pwd)/peer" gen-key "$work/cluster.key" >/dev/null
export SWARM_KEY_FILE=$work/cluster.key
# The small disks of disk_full: a tmpfs and an ext2 image on a loop device,
# always unmounted on exit (after every process that may hold a file on
# them is stopped).
disk=$work/disk
disk2=$work/disk2
mkdir -p "$disk" "$disk2"
# Whatever a scenario left: its shell when interrupted, its processes, and
# the small disks.
cleanup_scenario() {
  local d
  if [ -n "$scenario_pid" ]; then
    kill -TERM "$scenario_pid" 2>/dev/null || true
    for _ in $(seq 20); do lan_alive "$scenario_pid" || break; sleep 0.1; done
    kill -KILL "$scenario_pid" 2>/dev/null || true
    wait "$scenario_pid" 2>/dev/null || true
    scenario_pid=""
  fi
  lan_kill_all
  for d in "$disk" "$disk2"; do
    if mountpoint -q "$d" 2>/dev/null; then umount "$d" 2>/dev/null || umount -l "$d"; fi
  done
  rm -f "$work/disk2.img"
}
cleanup() {
  cleanup_scenario
  if [ "${FAULTS_KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
LAN_ON_EXIT=cleanup

echo "== a LAN of $hosts hosts, every link $rate both ways (tbf); seed $seed (FAULTS_SEED=$seed reproduces it)"
lan_up "$hosts" "$rate"

now_ns() { date +%s%N; }
# Seconds since a now_ns value, one decimal.
since() { awk -v ns="$(($(now_ns) - $1))" 'BEGIN { printf "%.1f", ns / 1e9 }'; }
# A field of HOST's get in seconds, one decimal.
get_secs() { printf '%.1f' "$(swarm_get_field "$1" "${2:-elapsed_seconds}")"; }
# The last line of a get's stderr, for failure messages.
get_err() { tail -n 1 "$SWARM_DIR/get-$1.err" 2>/dev/null; }
# Starts a `peer get` on HOST in the background; its pid goes into GET_PID.
get_bg() {
  swarm_get "$@" &
  GET_PID=$!
}
# A number from `fileinfo show --json`: chunk_count, chunk_size, size.
fileinfo_field() { "$SWARM_BIN/fileinfo" show --json "$1" | grep -oE "\"$2\": *[0-9]+" | grep -oE '[0-9]+$'; }
# held_chunks FILEINFO FILE LIST: the chunks of FILE that match their
# checksum, judged by `fileinfo verify` (not by the peer), into LIST in the
# lexical order comm wants; prints how many.
held_chunks() {
  local n
  n=$(fileinfo_field "$1" chunk_count)
  "$SWARM_BIN/fileinfo" verify --json "$1" "$2" | tr -d ' \n' | grep -oE '"bad_chunks":\[[0-9,]*\]' |
    grep -oE '[0-9]+' | sort >"$3.bad" || true
  seq 0 $((n - 1)) | sort | comm -23 - "$3.bad" >"$3"
  wc -l <"$3"
}
# Stops seeding and removes a copy (and any .partial) on a getter; tolerant,
# for tidying up between trials.
drop_copy() {
  lan_exec "$1" "$SWARM_BIN/peer" unshare --state-dir "$(swarm_state "$1")" "$2" >/dev/null 2>&1 || true
  rm -f "$2" "$2.partial"
}

# (a) A holder is killed with SIGKILL mid-transfer, FAULTS_TRIALS times: two
# holders, two getters at once, the victim and the moment (10-80% of host 4's
# chunks) chosen from the seed. Every getter must finish byte-exact. The
# victim is restarted (it keeps its shares) before the next trial.
scenario_holder_kill9() {
  local f=$SWARM_DIR/a.bin t victim pct at n g4 g5 rc4 rc5 ok=0 bad=0 started vup v0
  RANDOM=$seed
  swarm_random_file "$f" 24
  swarm_coordinator 1
  swarm_peer 2
  swarm_peer 3
  swarm_peer 4
  swarm_peer 5
  swarm_share 2 "$f"
  swarm_share 3 "$f"
  swarm_wait_entries 2
  for ((t = 1; t <= trials; t++)); do
    victim=$((2 + RANDOM % 2))
    pct=$((10 + RANDOM % 71))
    started=$(now_ns)
    v0=$(swarm_uploaded_bytes "$victim")
    # --wait 20: a getter that no holder feeds for 20 s fails the trial
    # (a healthy one is never idle for more than a second here).
    get_bg 4 "$f.fileinfo" "$SWARM_DIR/got4.bin" --wait 20
    g4=$GET_PID
    get_bg 5 "$f.fileinfo" "$SWARM_DIR/got5.bin" --wait 20
    g5=$GET_PID
    swarm_wait_verified 4 "0.$pct"
    at=$(swarm_get_field 4 chunks_verified)
    n=$(swarm_get_field 4 chunk_count)
    vup=$(($(swarm_uploaded_bytes "$victim") - v0))
    swarm_kill9 "$victim"
    rc4=0 rc5=0
    wait "$g4" || rc4=$?
    wait "$g5" || rc5=$?
    if ((rc4 == 0 && rc5 == 0 && at < n)) &&
      (swarm_expect_copy 4 "$f" "$SWARM_DIR/got4.bin" && swarm_expect_copy 5 "$f" "$SWARM_DIR/got5.bin"); then
      ok=$((ok + 1))
      echo "   trial $t/$trials: killed host $victim (it had sent $((vup / 1048576)) MiB this trial) at $at/$n chunks of host 4" \
        "(aimed at $pct%); hosts 4 and 5 byte-exact in $(get_secs 4) s and $(get_secs 5) s" \
        "($(swarm_get_field 4 retries) and $(swarm_get_field 5 retries) retries); trial $(since "$started") s"
    else
      bad=$((bad + 1))
      echo "   trial $t/$trials FAILED: killed host $victim at $at/$n chunks (aimed at $pct%); host 4 exit $rc4" \
        "($(get_err 4); $(swarm_get_field 4 chunks_verified) chunks, $(swarm_get_field 4 deferred) REJECT elsewhere)," \
        "host 5 exit $rc5 ($(get_err 5); $(swarm_get_field 5 chunks_verified) chunks," \
        "$(swarm_get_field 5 deferred) REJECT elsewhere)" >&2
      cp "$SWARM_DIR/get-4.json" "$SWARM_DIR/get-4.trial$t.json"
      cp "$SWARM_DIR/get-5.json" "$SWARM_DIR/get-5.trial$t.json"
      # Start the getters afresh: a download may still run in a daemon.
      swarm_kill9 4
      swarm_kill9 5
      swarm_peer 4
      swarm_peer 5
    fi
    swarm_peer "$victim"
    drop_copy 4 "$SWARM_DIR/got4.bin"
    drop_copy 5 "$SWARM_DIR/got5.bin"
    swarm_wait_entries 2
  done
  echo "   $ok of $trials trials byte-exact on both getters (seed $seed)"
  ((bad == 0)) || lan_die "$bad of $trials trials failed"
}

# (b) The getter's own daemon is killed with SIGKILL mid-download; it is
# started again and the same `peer get` resumes. Proof that no verified
# chunk is fetched again: the holders log every chunk they send (debug),
# and none of the chunks the .partial held (checked by `fileinfo verify`)
# is among those sent to host 4 after the restart.
scenario_getter_kill9() {
  local f=$SWARM_DIR/b.bin out=$SWARM_DIR/got.bin pct get at n size chunk held resumed received missing
  local marks=() h sent=0 distinct refetched up0 up1
  RANDOM=$((seed + 1))
  pct=$((30 + RANDOM % 41))
  swarm_random_file "$f" 32
  swarm_coordinator 1
  SWARM_PEER_LOG_LEVEL=debug swarm_peer 2
  SWARM_PEER_LOG_LEVEL=debug swarm_peer 3
  swarm_peer 4
  swarm_share 2 "$f"
  swarm_share 3 "$f"
  swarm_wait_entries 2
  get_bg 4 "$f.fileinfo" "$out"
  get=$GET_PID
  swarm_wait_verified 4 "0.$pct"
  swarm_kill9 4
  if wait "$get"; then lan_die "peer get succeeded although its daemon was killed"; fi
  at=$(swarm_get_field 4 chunks_verified)
  n=$(swarm_get_field 4 chunk_count)
  size=$(swarm_get_field 4 size)
  chunk=$((size / n))
  ((chunk * n == size)) || lan_die "the test file must be a whole number of chunks"
  cp "$SWARM_DIR/get-4.json" "$SWARM_DIR/get-4.run1.json"
  echo "   killed host 4's daemon at $at/$n chunks (aimed at $pct%): $(get_err 4)"
  [ -f "$out.partial" ] || lan_die "$out.partial is gone after the kill"

  held=$(held_chunks "$f.fileinfo" "$out.partial" "$SWARM_DIR/held.txt")

  sleep 1  # the holders notice the lost connections
  up0=$(($(swarm_uploaded_bytes 2) + $(swarm_uploaded_bytes 3)))
  for h in 2 3; do marks[h]=$(wc -l <"$(swarm_state "$h")/peer.log"); done
  swarm_peer 4
  swarm_get 4 "$f.fileinfo" "$out" || lan_die "the resumed get failed: $(get_err 4)"
  swarm_expect_copy 4 "$f" "$out"
  up1=$(($(swarm_uploaded_bytes 2) + $(swarm_uploaded_bytes 3)))

  # Every chunk the holders sent to host 4 since the restart.
  : >"$SWARM_DIR/sent.txt"
  for h in 2 3; do
    tail -n +$((marks[h] + 1)) "$(swarm_state "$h")/peer.log" |
      grep -F "$(lan_ip 4):" | grep -oE 'sending chunk [0-9]+' | grep -oE '[0-9]+$' >>"$SWARM_DIR/sent.txt" || true
  done
  sent=$(wc -l <"$SWARM_DIR/sent.txt")
  distinct=$(sort -u "$SWARM_DIR/sent.txt" | wc -l)
  refetched=$(sort -u "$SWARM_DIR/sent.txt" | comm -12 - "$SWARM_DIR/held.txt" | wc -l)
  resumed=$(swarm_get_field 4 resumed_chunks)
  received=$(swarm_get_field 4 bytes_received)
  missing=$(((n - resumed) * chunk))
  echo "   the .partial held $held/$n verified chunks (fileinfo verify); the resumed get: resumed_chunks $resumed," \
    "bytes_received $received for $missing missing bytes ($((n - resumed)) chunks × $chunk B)," \
    "$(swarm_get_field 4 checksum_failures) checksum failures, $(get_secs 4) s"
  echo "   the holders sent host 4 $sent chunks after the restart: $distinct distinct, $((sent - distinct))" \
    "endgame duplicates, $refetched of the held ones; they uploaded $((up1 - up0)) B"
  ((resumed > 0)) || lan_die "resumed_chunks is 0"
  ((resumed == held)) || lan_die "resumed_chunks $resumed, but fileinfo verify finds $held good chunks"
  ((resumed >= at)) || lan_die "$at chunks were verified before the kill, only $resumed resumed"
  ((refetched == 0)) || lan_die "$refetched chunks the .partial held were sent again"
  ((distinct == n - resumed)) || lan_die "$distinct distinct chunks sent, $((n - resumed)) were missing"
  ((received >= missing && received <= sent * chunk)) ||
    lan_die "bytes_received $received is outside [$missing, $((sent * chunk))]"
  ((up1 - up0 == sent * chunk)) || lan_die "the holders uploaded $((up1 - up0)) B for $sent chunks of $chunk B"
}

# (c) The coordinator is killed with SIGKILL mid-swarm and started again at
# once (report interval 2 s). The getters finish, and the table is whole
# again (every live peer with its file) within one report interval of the
# restart; the time is measured.
scenario_coordinator_restart() {
  local f=$SWARM_DIR/c.bin g4 g5 killed up whole="" p e fl
  SWARM_REPORT_INTERVAL=2
  swarm_random_file "$f" 32
  swarm_coordinator 1
  for h in 2 3 4 5; do swarm_peer "$h"; done
  swarm_share 2 "$f"
  swarm_share 3 "$f"
  swarm_wait_entries 2
  get_bg 4 "$f.fileinfo" "$SWARM_DIR/got4.bin"
  g4=$GET_PID
  get_bg 5 "$f.fileinfo" "$SWARM_DIR/got5.bin"
  g5=$GET_PID
  swarm_wait_verified 4 0.3
  swarm_wait_entries 4  # both getters report the file as partial
  killed=$(now_ns)
  swarm_kill9_coordinator
  swarm_coordinator 1
  up=$(now_ns)
  for _ in $(seq 100); do
    p=$(swarm_coord_stat peers || true)
    e=$(swarm_coord_stat entries || true)
    fl=$(swarm_coord_stat files || true)
    if [ "$p" = 4 ] && [ "$e" = 4 ] && [ "$fl" = 1 ]; then
      whole=$(since "$up")
      break
    fi
    sleep 0.05
  done
  [ -n "$whole" ] || lan_die "the table is not whole 5 s after the restart: $p peers, $e entries, $fl files (want 4, 4, 1)"
  echo "   coordinator down for $(awk -v ns="$((up - killed))" 'BEGIN { printf "%.2f", ns / 1e9 }') s" \
    "(kill -9 to answering again); table whole (4 peers, 4 entries, 1 file) $whole s after it answered" \
    "(report interval $SWARM_REPORT_INTERVAL s); host 4 was at $(swarm_get_field 4 chunks_verified)/$(swarm_get_field 4 chunk_count) chunks"
  wait "$g4" || lan_die "host 4's get failed: $(get_err 4)"
  wait "$g5" || lan_die "host 5's get failed: $(get_err 5)"
  swarm_expect_copy 4 "$f" "$SWARM_DIR/got4.bin"
  swarm_expect_copy 5 "$f" "$SWARM_DIR/got5.bin"
  echo "   hosts 4 and 5 byte-exact in $(get_secs 4) s and $(get_secs 5) s"
  awk -v w="$whole" -v i="$SWARM_REPORT_INTERVAL" 'BEGIN { exit !(w <= i) }' ||
    lan_die "the table took $whole s to be whole again, more than one report interval ($SWARM_REPORT_INTERVAL s)"
  swarm_wait_entries 4
}

# (d) A peer serves every chunk with bytes flipped (tests/support/corrupt_peer)
# next to one honest holder. Both getters must detect its chunks (checksum
# failures), ban it (never connect again), and finish byte-exact.
scenario_corrupt_peer() {
  local f=$SWARM_DIR/d.bin h cf banned bans listed total=0 sent conns
  swarm_random_file "$f" 16
  swarm_coordinator 1
  swarm_peer 2
  swarm_share 2 "$f"
  lan_spawn 3 "$SWARM_DIR/corrupt.log" "$tools/corrupt_peer" --coordinator "$(swarm_coord_addr)" \
    --listen "$(lan_ip 3):6882" --fileinfo "$f.fileinfo" --data "$f" --report-interval "$SWARM_REPORT_INTERVAL" \
    --key-file "$SWARM_KEY_FILE"
  swarm_peer 4
  swarm_peer 5
  swarm_wait_entries 2
  get_bg 4 "$f.fileinfo" "$SWARM_DIR/got4.bin"
  local g4=$GET_PID
  get_bg 5 "$f.fileinfo" "$SWARM_DIR/got5.bin"
  local g5=$GET_PID
  wait "$g4" || lan_die "host 4's get failed: $(get_err 4)"
  wait "$g5" || lan_die "host 5's get failed: $(get_err 5)"
  sent=$(grep -c 'sent corrupt chunk' "$SWARM_DIR/corrupt.log" || true)
  conns=$(grep -cE 'connection [0-9]+ from' "$SWARM_DIR/corrupt.log" || true)
  for h in 4 5; do
    swarm_expect_copy "$h" "$f" "$SWARM_DIR/got$h.bin"
    cf=$(swarm_get_field "$h" checksum_failures)
    banned=$(swarm_get_field "$h" banned_peers)
    bans=$(grep -c "banned peer $(lan_ip 3):6882 for " "$(swarm_state "$h")/peer.log" || true)
    listed=$(lan_exec "$h" "$SWARM_BIN/peer" status --state-dir "$(swarm_state "$h")" --json |
      grep -c "\"address\": *\"$(lan_ip 3):6882\"" || true)
    echo "   host $h: byte-exact in $(get_secs "$h") s; checksum_failures $cf," \
      "banned_peers $banned, $bans ban line(s) naming the corrupt peer in its log, $listed ban(s) in peer status"
    ((cf >= 3)) || lan_die "host $h counted $cf checksum failures, fewer than the 3 that ban a peer"
    ((banned == 1 && bans == 1)) || lan_die "host $h did not ban the corrupt peer exactly once"
    ((listed == 1)) || lan_die "host $h's peer status does not list the ban of the corrupt peer"
    total=$((total + cf))
  done
  echo "   the corrupt peer sent $sent corrupt chunks on $conns connections; the getters detected $total"
  ((total <= sent)) || lan_die "more checksum failures ($total) than corrupt chunks sent ($sent)"
  ((conns == 2)) || lan_die "the corrupt peer saw $conns connections, not one per getter: a banned peer was asked again"
}

# (e) The getter's disk is full. The .partial is reserved with fallocate
# (peer/storage.cc), so on a tmpfs a full disk shows before the first byte:
#  1. a fresh get that cannot fit fails at once with one clear line;
#  2. a .partial holding chunks (a download interrupted elsewhere, copied
#     sparse onto this disk) that cannot be reserved: the same, and the
#     .partial and its chunks are kept;
#  3. space freed, the same command resumes and finishes byte-exact.
# Where fallocate is not supported (an ext2 image on a loop device), the
# disk fills during the download instead:
#  4. the get fails with one clear line, the chunks it wrote are kept;
#  5. space freed, the same command resumes and finishes byte-exact.
# Steps 4-5 are skipped, and say so, where no loop device can be set up.
scenario_disk_full() {
  local f=$SWARM_DIR/e.bin out=$disk/got.bin out2=$disk2/got.bin rc get err good held n chunk loop=1
  swarm_random_file "$f" 24
  # Both disks are mounted before the getter's daemon starts, so that its
  # mount namespace (ip netns exec makes one) has them.
  mount -t tmpfs -o size=32m lanswarm-faults "$disk" || lan_die "cannot mount a tmpfs on $disk"
  head -c $((16 * 1048576)) /dev/zero >"$disk/filler"  # 16 MiB free: less than the 24 MiB file
  truncate -s 40M "$work/disk2.img"
  if mkfs.ext2 -q -F "$work/disk2.img" >/dev/null 2>&1 && mount -o loop "$work/disk2.img" "$disk2" 2>/dev/null; then
    head -c $((20 * 1048576)) /dev/zero >"$disk2/filler"  # about 18 MiB free
  else
    loop=0
  fi
  swarm_coordinator 1
  swarm_peer 2
  swarm_peer 3
  swarm_peer 4
  swarm_share 2 "$f"
  swarm_share 3 "$f"
  swarm_wait_entries 2
  n=$(fileinfo_field "$f.fileinfo" chunk_count)
  chunk=$(fileinfo_field "$f.fileinfo" chunk_size)

  rc=0
  swarm_get 4 "$f.fileinfo" "$out" || rc=$?
  err=$(cat "$SWARM_DIR/get-4.err")
  echo "   1. fresh get, $(df -h --output=avail "$disk" | tail -n 1 | tr -d ' ') free: exit $rc: $err"
  ((rc == 1)) || lan_die "exit $rc, not 1"
  [ "$(wc -l <"$SWARM_DIR/get-4.err")" = 1 ] || lan_die "the error is not one line"
  [[ $err == *"not enough space"*"free some space and run the same command again"* ]] ||
    lan_die "the error does not say the disk is full and what to do"
  [ ! -e "$out.partial" ] || lan_die "a .partial that holds nothing was left behind"

  # A .partial holding chunks: a download interrupted on another disk ...
  mkdir -p "$SWARM_DIR/elsewhere"
  get_bg 4 "$f.fileinfo" "$SWARM_DIR/elsewhere/got.bin"
  get=$GET_PID
  swarm_wait_verified 4 0.4
  swarm_kill9 4
  wait "$get" || true
  swarm_peer 4
  # ... moved here (its unwritten part becomes holes, so it fits).
  cp --sparse=always "$SWARM_DIR/elsewhere/got.bin.partial" "$out.partial"
  held=$(held_chunks "$f.fileinfo" "$out.partial" "$SWARM_DIR/held.txt")
  rc=0
  swarm_get 4 "$f.fileinfo" "$out" || rc=$?
  err=$(cat "$SWARM_DIR/get-4.err")
  echo "   2. a .partial holding $held/$n chunks, $(df -h --output=avail "$disk" | tail -n 1 | tr -d ' ') free: exit $rc: $err"
  ((rc == 1)) || lan_die "exit $rc, not 1"
  [ "$(wc -l <"$SWARM_DIR/get-4.err")" = 1 ] || lan_die "the error is not one line"
  [[ $err == *"not enough space"*"more"*"free some space and run the same command again"* ]] ||
    lan_die "the error does not say how much more space it needs and what to do"
  [ -f "$out.partial" ] || lan_die "the .partial was removed"
  good=$(held_chunks "$f.fileinfo" "$out.partial" "$SWARM_DIR/held2.txt")
  cmp -s "$SWARM_DIR/held.txt" "$SWARM_DIR/held2.txt" || lan_die "the .partial held $held good chunks, now $good"

  rm "$disk/filler"
  expect_resumed "3. 16 MiB" "$f" "$out" "$held" "$n" "$chunk"

  if ((!loop)); then
    echo "   4-5. skipped: no loop device for an ext2 image (a file system without fallocate)"
    return 0
  fi
  drop_copy 4 "$out"  # the daemon would offer its whole copy instead
  rc=0
  swarm_get 4 "$f.fileinfo" "$out2" || rc=$?
  err=$(cat "$SWARM_DIR/get-4.err")
  held=0
  [ -f "$out2.partial" ] && held=$(held_chunks "$f.fileinfo" "$out2.partial" "$SWARM_DIR/held3.txt")
  echo "   4. ext2 (no fallocate), $(df -h --output=avail "$disk2" | tail -n 1 | tr -d ' ') free after" \
    "$(get_secs 4) s: exit $rc: $err; the .partial holds $held/$n verified chunks"
  ((rc == 1)) || lan_die "exit $rc, not 1"
  [ "$(wc -l <"$SWARM_DIR/get-4.err")" = 1 ] || lan_die "the error is not one line"
  [[ $err == *"disk full"*".partial is kept"*"free some space and run the same command again"* ]] ||
    lan_die "the error does not say the disk is full, that the .partial is kept, and what to do"
  ((held > 0)) || lan_die "the .partial holds no verified chunk"
  rm "$disk2/filler"
  expect_resumed "5. 20 MiB" "$f" "$out2" "$held" "$n" "$chunk"
}

# After disk_full freed space (WHAT says which step and how much): the same
# get on host 4 finishes byte-exact, resumes from the HELD chunks of OUT's
# .partial, and receives at least the missing chunks' bytes.
expect_resumed() {
  local what=$1 orig=$2 out=$3 held=$4 n=$5 chunk=$6 resumed received
  swarm_get 4 "$orig.fileinfo" "$out" || lan_die "the get after freeing space failed: $(get_err 4)"
  swarm_expect_copy 4 "$orig" "$out"
  resumed=$(swarm_get_field 4 resumed_chunks)
  received=$(swarm_get_field 4 bytes_received)
  echo "   $what freed: byte-exact in $(get_secs 4) s; resumed_chunks $resumed," \
    "bytes_received $received for $(((n - held) * chunk)) missing bytes ($((n - held)) chunks × $chunk B)"
  ((resumed == held)) || lan_die "resumed $resumed chunks, not the $held the .partial held"
  ((received >= (n - held) * chunk)) || lan_die "received $received B, less than the missing chunks"
}

# (f) Clients without the cluster key. Every scenario here runs keyed
# (SWARM_KEY_FILE); this one adds a peer with no key and a peer with another
# key, which must get nothing through the coordinator, and a raw client that
# skips the coordinator and sends HELLO, OPEN and REQUEST straight to the
# seed, which must get its HELLO and an ERROR, nothing more. The seed's
# upload counter stays at 0 until a peer with the key downloads the file.
scenario_auth_no_key() {
  local f=$SWARM_DIR/k.bin h id hello open request got up fails
  swarm_random_file "$f" 8
  swarm_coordinator 1
  swarm_peer 2
  swarm_share 2 "$f"
  swarm_wait_entries 1
  "$SWARM_BIN/peer" gen-key "$SWARM_DIR/other.key" >/dev/null
  SWARM_KEY_FILE="" swarm_peer 3
  SWARM_KEY_FILE=$SWARM_DIR/other.key swarm_peer 4
  for h in 3 4; do
    if swarm_get "$h" "$f.fileinfo" "$SWARM_DIR/got$h.bin" --wait 3; then
      lan_die "host $h downloaded the file without the cluster key"
    fi
    grep -q 'cluster key' "$SWARM_DIR/get-$h.err" || lan_die "host $h's error does not name the key: $(get_err "$h")"
    [ ! -s "$SWARM_DIR/got$h.bin" ] || lan_die "host $h has bytes of the file"
    echo "   host $h ($([ "$h" = 3 ] && echo 'no key' || echo 'another key')): refused: $(get_err "$h" | cut -c1-150)"
  done
  # The raw client: HELLO (no nonce, no auth), OPEN of the file, REQUEST of chunk 0.
  id=$("$SWARM_BIN/fileinfo" show --json "$f.fileinfo" | grep -oE '"file_id": *"[0-9a-f]{32}"' | grep -oE '[0-9a-f]{32}')
  hello='\x3a\x00\x00\x00\x01LSWM\x01\x00\x01\x00\x01'$(printf '\\x%02x' $(seq 1 16))$(printf '\\x00%.0s' $(seq 32))'\x00'
  open='\x12\x00\x00\x00\x20\x01\x00'$(sed 's/../\\x&/g' <<<"$id")
  request='\x06\x00\x00\x00\x23\x01\x00\x00\x00\x00\x00'
  got=$(lan_exec 5 timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/6882" && printf "$2$3$4" >&3 && cat <&3 | wc -c' _ \
    "$(lan_ip 2)" "$hello" "$open" "$request") || true
  echo "   raw client straight at the seed: ${got:-0} bytes back (its HELLO and an ERROR)"
  ((${got:-0} > 0 && ${got:-0} < 1024)) || lan_die "the raw client got ${got:-0} bytes back, not just HELLO and ERROR"
  up=$(swarm_uploaded_bytes 2)
  ((up == 0)) || lan_die "the seed uploaded $up bytes to clients without the key"
  fails=$(swarm_coord_stat auth_failures_total)
  echo "   seed uploaded 0 bytes; coordinator auth_failures_total $fails"
  ((fails >= 2)) || lan_die "the coordinator counted $fails authentication failures, not at least 2"
  # And with the key, the same file comes through.
  swarm_peer 5
  swarm_get 5 "$f.fileinfo" "$SWARM_DIR/got5.bin" || lan_die "host 5's get failed: $(get_err 5)"
  swarm_expect_copy 5 "$f" "$SWARM_DIR/got5.bin"
  up=$(swarm_uploaded_bytes 2)
  echo "   host 5 (the key): byte-exact in $(get_secs 5) s; the seed uploaded $up bytes, all to it"
  ((up == $(stat -c %s "$f"))) || lan_die "the seed uploaded $up bytes, not the file's $(stat -c %s "$f")"
}

run_scenario() {
  local name=$1 start rc took
  [ -n "${FAULTS_ONLY:-}" ] && [ "${FAULTS_ONLY//-/_}" != "$name" ] && return 0
  echo "-- $name"
  start=$(now_ns)
  # In the background, waited for with `wait`: a trapped Ctrl-C or SIGTERM
  # interrupts `wait` at once (not a foreground command), and the EXIT trap
  # stops the scenario's shell before the rest (cleanup_scenario).
  set +e
  (
    set -e
    swarm_init "$work/$name"
    "scenario_$name"
    swarm_stop
  ) &
  scenario_pid=$!
  wait "$scenario_pid"
  rc=$?
  scenario_pid=""
  set -e
  cleanup_scenario
  took=$(since "$start")
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

all_start=$(now_ns)
run_scenario holder_kill9
run_scenario getter_kill9
run_scenario coordinator_restart
run_scenario corrupt_peer
run_scenario disk_full
run_scenario auth_no_key
run_scenario hostile_swarm

echo
echo "test-faults: $passed passed, $failed failed" \
  "${failures[*]:+(failed: ${failures[*]}) }in $(since "$all_start") s, seed $seed"
((failed == 0))
