# shellcheck shell=bash
# lanswarm on the LAN testbed: a coordinator and peer daemons inside the
# namespaces of tests/lan/lan.sh. Sourced after lan.sh.
#
#   swarm_init DIR             binaries from $LANSWARM_BIN_DIR (default bin/), state under DIR
#   swarm_coordinator HOST     starts the coordinator on HOST:6881 (report interval 1 s)
#   swarm_peer HOST [TOML...]  starts a peer daemon on HOST:6882; extra config lines appended
#   swarm_share HOST FILE      shares FILE (its .fileinfo next to it, made if missing)
#   swarm_get HOST FILEINFO OUT [ARGS...]  `peer get` through HOST's daemon, JSON events
#                              into $SWARM_DIR/get-HOST.json; returns its exit code
#   swarm_wait_entries N [SECONDS]  until the coordinator lists N (peer, file) entries
#   swarm_kill9 HOST           SIGKILL to HOST's daemon
#   swarm_stop                 kill-server for every daemon still running, coordinator last
# Processes live inside the namespaces, so lan_down stops anything left.

SWARM_BIN=""
SWARM_DIR=""
SWARM_COORD_HOST=""
SWARM_LATENCY_MS=${SWARM_LATENCY_MS:-1}
declare -A SWARM_PEER_PID=()

swarm_init() {
  SWARM_DIR=$1
  SWARM_BIN=$(cd "${LANSWARM_BIN_DIR:-bin}" 2>/dev/null && pwd) || lan_die "no binaries in ${LANSWARM_BIN_DIR:-bin}; run 'make'"
  local b
  for b in coordinator peer fileinfo; do
    [ -x "$SWARM_BIN/$b" ] || lan_die "$SWARM_BIN/$b is missing; run 'make'"
  done
  mkdir -p "$SWARM_DIR"
}

swarm_coord_addr() { echo "$(lan_ip "$SWARM_COORD_HOST"):6881"; }

swarm_coordinator() {
  local host=$1
  SWARM_COORD_HOST=$host
  printf 'report_interval = 1\nexpiry_multiple = 3\nlog_level = "warn"\n' >"$SWARM_DIR/coordinator.toml"
  lan_spawn "$host" "$SWARM_DIR/coordinator.log" "$SWARM_BIN/coordinator" \
    --config "$SWARM_DIR/coordinator.toml" --listen "$(swarm_coord_addr)"
  for _ in $(seq 50); do
    lan_exec "$host" "$SWARM_BIN/coordinator" status "$(swarm_coord_addr)" --timeout-ms 300 >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  lan_die "the coordinator did not start on host $host: $(tail -n 3 "$SWARM_DIR/coordinator.log")"
}

swarm_state() { echo "$SWARM_DIR/peer$1"; }

swarm_peer() {
  local host=$1 state out
  shift
  state=$(swarm_state "$host")
  mkdir -p "$state"
  {
    echo "coordinator = \"$(swarm_coord_addr)\""
    echo "listen = \"$(lan_ip "$host"):6882\""
    echo "report_interval = 1"
    echo "simulated_latency_ms = $SWARM_LATENCY_MS"
    echo "log_level = \"info\""
    local line
    for line in "$@"; do echo "$line"; done
  } >"$state/peer.toml"
  out=$(lan_exec "$host" "$SWARM_BIN/peer" start-server --config "$state/peer.toml" --state-dir "$state" 2>&1) ||
    lan_die "peer on host $host did not start: $out"
  [[ $out =~ pid\ ([0-9]+) ]] || lan_die "cannot read the pid of host $host's peer from: $out"
  SWARM_PEER_PID[$host]=${BASH_REMATCH[1]}
}

swarm_share() {
  local host=$1 file=$2
  [ -f "$file.fileinfo" ] || "$SWARM_BIN/fileinfo" create --quiet "$file" ${SWARM_CHUNK_SIZE:+--chunk-size "$SWARM_CHUNK_SIZE"} ||
    lan_die "fileinfo create $file failed"
  lan_exec "$host" "$SWARM_BIN/peer" share --state-dir "$(swarm_state "$host")" --fileinfo "$file.fileinfo" "$file" >/dev/null ||
    lan_die "host $host could not share $file"
}

swarm_get() {
  local host=$1 fileinfo=$2 out=$3
  shift 3
  lan_exec "$host" "$SWARM_BIN/peer" get --state-dir "$(swarm_state "$host")" --json "$@" "$fileinfo" "$out" \
    >"$SWARM_DIR/get-$host.json" 2>"$SWARM_DIR/get-$host.err"
}

# The value of a numeric field in the last JSON event of host's get.
swarm_get_field() {
  local host=$1 field=$2
  tail -n 1 "$SWARM_DIR/get-$host.json" 2>/dev/null | grep -oE "\"$field\": *-?[0-9.e+]+" | grep -oE -- '-?[0-9.e+]+$'
}

swarm_entries() {
  lan_exec "$SWARM_COORD_HOST" "$SWARM_BIN/coordinator" status "$(swarm_coord_addr)" --json --timeout-ms 1000 2>/dev/null |
    grep -oE '"entries": *[0-9]+' | grep -oE '[0-9]+$'
}

swarm_wait_entries() {
  local want=$1 limit=${2:-10} got=""
  for _ in $(seq $((limit * 10))); do
    got=$(swarm_entries || true)
    [ "$got" = "$want" ] && return 0
    sleep 0.1
  done
  lan_die "the coordinator lists ${got:-no} entries after ${limit}s, not $want"
}

swarm_kill9() {
  local pid=${SWARM_PEER_PID[$1]:-}
  [ -n "$pid" ] || lan_die "no peer runs on host $1"
  kill -KILL "$pid"
  unset "SWARM_PEER_PID[$1]"
}

# Bytes this host's daemon has uploaded, from `peer status`.
swarm_uploaded_bytes() {
  "$SWARM_BIN/peer" status --state-dir "$(swarm_state "$1")" 2>/dev/null |
    awk '/uploaded/ {
      for (i = 1; i <= NF; i++) if ($i == "uploaded") { v = $(i + 1); u = $(i + 2); break }
      sub(/,$/, "", u)
      m = 1
      if (u == "KiB") m = 1024; else if (u == "MiB") m = 1048576; else if (u == "GiB") m = 1073741824
      printf "%d\n", v * m
      exit
    }'
}

swarm_stop() {
  local host pids=()
  for host in "${!SWARM_PEER_PID[@]}"; do
    timeout 10 "$SWARM_BIN/peer" kill-server --state-dir "$(swarm_state "$host")" >/dev/null 2>&1 &
    pids+=($!)
  done
  for host in "${pids[@]}"; do wait "$host" || true; done
  SWARM_PEER_PID=()
}
