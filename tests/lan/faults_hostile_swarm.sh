# shellcheck shell=bash
# Scenario (g) of `make test-faults`, hostile_swarm: sourced by
# tests/lan/test_faults.sh, whose helpers (get_bg, get_secs, get_err,
# drop_copy) and settings (tools, the testbed of five hosts) it uses.
# doc/reliability.md has what it proves and its figures.

# (g) A hostile swarm (issue 15, item 8): an honest seed (host 2) and 40
# fake peer ids that claim every chunk and stall (tests/support/stall_peer:
# 32 send nothing for a REQUEST, 8 one byte a second), each with its own key
# pair and the cluster key, all in one process on host 1 (40 ids from one
# address fit the coordinator's max_peers_per_address, 64). Three getters
# (hosts 3-5) fetch a 32 MiB file (FAULTS_HOSTILE_MIB) at once, first
# without the stallers (the baseline, on the same links, in the same run),
# then with them. Checked:
# every copy byte-exact both times; every getter connected to at least 20
# stallers and asked them for 10 chunks or more, 60 or more together (a
# getter that has its chunks from granting holders sooner asks fewer: one
# run in four of the turns' version asked 14); and the swarm's time (its
# slowest getter) with the stallers within 2x of the baseline's.
hostile_fakes_silent=32
hostile_fakes_trickle=8
hostile_mib=${FAULTS_HOSTILE_MIB:-32}
scenario_hostile_swarm() {
  local f=$SWARM_DIR/h.bin h fakes=$((hostile_fakes_silent + hostile_fakes_trickle)) stall_pid base hostile ratio
  local conns fakes_seen asked asked_all=0
  swarm_random_file "$f" "$hostile_mib"
  swarm_coordinator 1
  swarm_peer 2
  swarm_share 2 "$f"
  for h in 3 4 5; do swarm_peer "$h"; done
  swarm_wait_entries 1
  hostile_round "without stallers" "$f"
  base=$HOSTILE_SLOWEST
  for h in 3 4 5; do drop_copy "$h" "$SWARM_DIR/got$h.bin"; done
  swarm_wait_entries 1

  lan_spawn 1 "$SWARM_DIR/stall.log" "$tools/stall_peer" --coordinator "$(swarm_coord_addr)" \
    --listen "$(lan_ip 1):7000" --fileinfo "$f.fileinfo" --silent "$hostile_fakes_silent" \
    --trickle "$hostile_fakes_trickle" --report-interval "$SWARM_REPORT_INTERVAL" --key-file "$SWARM_KEY_FILE"
  stall_pid=${LAN_PIDS[-1]}
  swarm_wait_entries $((fakes + 1))
  echo "   $fakes stalling ids listed ($hostile_fakes_silent silent, $hostile_fakes_trickle at 1 byte/s, one process" \
    "on host 1), next to the seed"
  hostile_round "with $fakes stallers" "$f"
  hostile=$HOSTILE_SLOWEST
  kill -TERM "$stall_pid"
  wait "$stall_pid" 2>/dev/null || true
  for h in 3 4 5; do
    conns=$(grep -cE "connection from $(lan_ip "$h"):" "$SWARM_DIR/stall.log" || true)
    fakes_seen=$(grep -oE "fake [0-9]+: connection from $(lan_ip "$h"):" "$SWARM_DIR/stall.log" | sort -u | wc -l)
    asked=$(grep -cE "REQUEST for chunk [0-9]+ from $(lan_ip "$h"):" "$SWARM_DIR/stall.log" || true)
    echo "   host $h: $conns connections to $fakes_seen of the $fakes stallers, $asked chunks asked of them"
    ((fakes_seen >= 20 && asked >= 10)) || lan_die "host $h hardly met the stallers: the scenario proves nothing"
    asked_all=$((asked_all + asked))
  done
  ((asked_all >= 60)) || lan_die "the getters asked the stallers for $asked_all chunks in all: the scenario proves nothing"
  echo "   stall_peer $(grep -oE 'totals: .*' "$SWARM_DIR/stall.log" || echo 'printed no totals')"
  ratio=$(awk -v a="$hostile" -v b="$base" 'BEGIN { printf "%.2f", a / b }')
  echo "   the swarm (its slowest getter): $base s without the stallers, $hostile s with them: ${ratio}x"
  awk -v r="$ratio" 'BEGIN { exit !(r <= 2) }' || lan_die "with the stallers the download took ${ratio}x its time without them, over 2x"
}

# hostile_round WHAT FILE: hosts 3-5 fetch FILE at once; every copy must be
# byte-exact. One line per getter; HOSTILE_SLOWEST is the slowest one's
# elapsed_seconds, its JSON kept as get-HOST.WHAT.json.
hostile_round() {
  local what=$1 f=$2 h g=() rc slowest=0 tag=${1// /_}
  for h in 3 4 5; do
    get_bg "$h" "$f.fileinfo" "$SWARM_DIR/got$h.bin"
    g[h]=$GET_PID
  done
  for h in 3 4 5; do
    rc=0
    wait "${g[h]}" || rc=$?
    cp "$SWARM_DIR/get-$h.json" "$SWARM_DIR/get-$h.$tag.json"
    ((rc == 0)) || lan_die "$what: host $h's get failed (exit $rc): $(get_err "$h")"
  done
  for h in 3 4 5; do
    swarm_expect_copy "$h" "$f" "$SWARM_DIR/got$h.bin"
    echo "   $what: host $h byte-exact in $(get_secs "$h") s; timeouts $(swarm_get_field "$h" timeouts)," \
      "banned_peers $(swarm_get_field "$h" banned_peers), late_probes $(swarm_get_field "$h" late_probes)," \
      "retries $(swarm_get_field "$h" retries)"
    slowest=$(awk -v a="$slowest" -v b="$(swarm_get_field "$h" elapsed_seconds)" 'BEGIN { printf "%.2f", (b > a ? b : a) }')
  done
  HOSTILE_SLOWEST=$slowest
}
