# shellcheck shell=bash
# lanswarm on the LAN testbed: a coordinator and peer daemons inside the
# namespaces of tests/lan/lan.sh. Sourced after lan.sh.
#
#   swarm_init DIR             binaries from $LANSWARM_BIN_DIR (default bin/), state under DIR
#   swarm_coordinator HOST     starts the coordinator on HOST:6881 (report interval
#                              $SWARM_REPORT_INTERVAL, default 1 s); also to restart it
#   swarm_kill9_coordinator    SIGKILL to the coordinator
#   swarm_peer HOST [TOML...]  starts a peer daemon on HOST:6882; extra config lines appended
#                              (also to restart one killed earlier, with its state)
#   swarm_share HOST FILE      shares FILE (its .fileinfo next to it, made if missing)
#   swarm_unshare HOST FILE    stops seeding FILE
#   swarm_get HOST FILEINFO OUT [ARGS...]  `peer get` through HOST's daemon, JSON events
#                              into $SWARM_DIR/get-HOST.json; returns its exit code
#                              (124 after $SWARM_GET_TIMEOUT seconds, when set)
#   swarm_get_field HOST FIELD a number from the last JSON event of HOST's get
#   swarm_wait_verified HOST FRACTION [SECONDS]  until HOST's get verified FRACTION of the chunks
#   swarm_expect_copy HOST ORIGINAL COPY  byte-exact, no .partial left, seeded whole
#   swarm_entries, swarm_coord_stat NAME  the coordinator's table, from `coordinator status`
#   swarm_wait_entries N [SECONDS]  until the coordinator lists N (peer, file) entries
#   swarm_kill9 HOST           SIGKILL to HOST's daemon
#   swarm_uploaded_bytes HOST  bytes HOST's daemon has uploaded
#   swarm_random_file PATH MIB
#   swarm_show_logs DIR        the last lines of every log of a scenario's DIR, on stderr
#   swarm_coord_status ARGS... `coordinator status` with the key of SWARM_KEY_FILE, if set
#   swarm_stop                 kill-server for every daemon still running, coordinator last
# Processes live inside the namespaces, so lan_down stops anything left.

SWARM_BIN=""
SWARM_DIR=""
SWARM_COORD_HOST=""
SWARM_COORD_PID=""
SWARM_LATENCY_MS=${SWARM_LATENCY_MS:-1}
SWARM_REPORT_INTERVAL=${SWARM_REPORT_INTERVAL:-1}
SWARM_GET_TIMEOUT=${SWARM_GET_TIMEOUT:-}
# A cluster key file (peer gen-key): when set, the coordinator and every peer
# started from here require it, and the `coordinator status` calls prove it.
SWARM_KEY_FILE=${SWARM_KEY_FILE:-}
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

# The [auth] table for SWARM_KEY_FILE (nothing without one); last in a config.
swarm_auth_toml() {
  [ -z "$SWARM_KEY_FILE" ] || printf '[auth]\nkey_file = "%s"\n' "$SWARM_KEY_FILE"
}

# `coordinator status ARGS...` from the coordinator's host, with the key if any.
swarm_coord_status() {
  lan_exec "$SWARM_COORD_HOST" "$SWARM_BIN/coordinator" status "$(swarm_coord_addr)" \
    ${SWARM_KEY_FILE:+--key-file "$SWARM_KEY_FILE"} "$@"
}

swarm_coordinator() {
  local host=$1
  SWARM_COORD_HOST=$host
  {
    printf 'report_interval = %s\nexpiry_multiple = 3\nlog_level = "warn"\n' "$SWARM_REPORT_INTERVAL"
    swarm_auth_toml
  } >"$SWARM_DIR/coordinator.toml"
  # Appends, so a restarted coordinator's log follows the first one's.
  ip netns exec "$(lan_ns "$host")" "$SWARM_BIN/coordinator" \
    --config "$SWARM_DIR/coordinator.toml" --listen "$(swarm_coord_addr)" >>"$SWARM_DIR/coordinator.log" 2>&1 &
  SWARM_COORD_PID=$!
  LAN_PIDS+=("$SWARM_COORD_PID")
  for _ in $(seq 50); do
    swarm_coord_status --timeout-ms 300 >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  lan_die "the coordinator did not start on host $host: $(tail -n 3 "$SWARM_DIR/coordinator.log")"
}

swarm_kill9_coordinator() {
  [ -n "$SWARM_COORD_PID" ] || lan_die "no coordinator runs"
  kill -KILL "$SWARM_COORD_PID"
  wait "$SWARM_COORD_PID" 2>/dev/null || true
  # The listening socket can outlive the reaped process for a moment (the
  # kernel tears an io_uring ring down after the exit, and the ring holds
  # its files), and a restart at once then fails with "bind: Address
  # already in use": wait until nothing listens on the port (5 s at most).
  local i port=6881  # swarm_coord_addr's
  for ((i = 0; i < 100; i++)); do
    [ -z "$(lan_exec "$SWARM_COORD_HOST" ss -Hltn "sport = :$port" 2>/dev/null)" ] && break
    sleep 0.05
  done
  SWARM_COORD_PID=""
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
    echo "report_interval = $SWARM_REPORT_INTERVAL"
    echo "simulated_latency_ms = $SWARM_LATENCY_MS"
    echo "log_level = \"${SWARM_PEER_LOG_LEVEL:-info}\""
    # SWARM_PEER_TOML: extra lines for every peer (e.g. "upload_slots = 0").
    [ -z "${SWARM_PEER_TOML:-}" ] || printf '%b\n' "$SWARM_PEER_TOML"
    local line
    for line in "$@"; do echo "$line"; done
    swarm_auth_toml
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

swarm_unshare() {
  lan_exec "$1" "$SWARM_BIN/peer" unshare --state-dir "$(swarm_state "$1")" "$2" >/dev/null ||
    lan_die "host $1 could not unshare $2"
}

swarm_get() {
  local host=$1 fileinfo=$2 out=$3
  shift 3
  # The CLI only follows the daemon's download: ending it on timeout leaves
  # the daemon as it was, and the caller's failure message says why.
  lan_exec "$host" ${SWARM_GET_TIMEOUT:+timeout -k 5 "$SWARM_GET_TIMEOUT"} \
    "$SWARM_BIN/peer" get --state-dir "$(swarm_state "$host")" --json "$@" "$fileinfo" "$out" \
    >"$SWARM_DIR/get-$host.json" 2>"$SWARM_DIR/get-$host.err"
}

# The value of a numeric field in the last JSON line of FILE.
swarm_json_field() {
  tail -n 1 "$1" 2>/dev/null | grep -oE "\"$2\": *-?[0-9.e+]+" | grep -oE -- '-?[0-9.e+]+$'
}

# The value of a numeric field in the last JSON event of host's get.
swarm_get_field() { swarm_json_field "$SWARM_DIR/get-$1.json" "$2"; }

# swarm_wait_verified HOST FRACTION [SECONDS]: until HOST's download has
# verified FRACTION (0-1) of its chunks, from the progress events of
# swarm_get (default 30 s).
swarm_wait_verified() {
  local host=$1 fraction=$2 limit=${3:-30} v n
  for _ in $(seq $((limit * 10))); do
    v=$(swarm_get_field "$host" chunks_verified || true)
    n=$(swarm_get_field "$host" chunk_count || true)
    if [ -n "$v" ] && [ -n "$n" ] && awk -v v="$v" -v n="$n" -v f="$fraction" 'BEGIN { exit !(v >= f * n) }'; then
      return 0
    fi
    sleep 0.1
  done
  lan_die "host $host did not reach $fraction of its chunks in $limit s"
}

# swarm_expect_copy HOST ORIGINAL COPY: byte-exact, and the daemon now seeds it.
swarm_expect_copy() {
  cmp -s "$2" "$3" || lan_die "host $1: $3 differs from $2"
  [ ! -e "$3.partial" ] || lan_die "host $1: $3.partial is still there"
  "$SWARM_BIN/peer" status --state-dir "$(swarm_state "$1")" | grep -Eq "^whole .*$3\$" ||
    lan_die "host $1 does not list $3 as a whole file it seeds"
}

# The last lines of every log of a scenario's directory, on stderr: for the
# report of a failed scenario.
swarm_show_logs() {
  local log
  for log in "$1"/coordinator.log "$1"/corrupt.log "$1"/peer*/peer.log "$1"/get-*.err; do
    [ -s "$log" ] && { echo "   --- ${log#"$(dirname "$1")"/}" >&2; tail -n 5 "$log" | sed 's/^/   /' >&2; }
  done
  return 0
}

# swarm_random_file PATH MIB
swarm_random_file() { head -c $(($2 * 1024 * 1024)) /dev/urandom >"$1"; }

# A number from `coordinator status --json`: peers, files, entries, uptime_seconds...
swarm_coord_stat() {
  swarm_coord_status --json --timeout-ms 1000 2>/dev/null |
    grep -oE "\"$1\": *[0-9]+" | grep -oE '[0-9]+$'
}

swarm_entries() { swarm_coord_stat entries; }

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

# Bytes this host's daemon has uploaded, exactly: the top-level
# "uploaded_bytes" of `peer status --json` (the daemon's total; every
# shared file also has one, indented deeper).
swarm_uploaded_bytes() {
  "$SWARM_BIN/peer" status --state-dir "$(swarm_state "$1")" --json 2>/dev/null |
    awk '/^  "uploaded_bytes": *[0-9]+/ { gsub(/[^0-9]/, ""); print; exit }'
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
