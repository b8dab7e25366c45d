# shellcheck shell=bash
# The LAN testbed: a switched 10.77.0.0/24 network of network namespaces on
# this one machine. Sourced by the scenario and benchmark scripts.
#
#   lsw-sw           the switch: one bridge, br0, and the host-side end of every veth
#   lsw-h1..lsw-hN   one namespace per host: eth0 = 10.77.0.(10+i)/24, lo, no default route
#
# Each link is shaped both ways with tbf: the host's eth0 egress is its upload,
# the switch-side end's egress is its download. There is no netem here, so
# latency comes from lanswarm's own `simulated_latency_ms`.
#
# Nothing routes out of these namespaces (no default route, no link to the
# root namespace), so traffic can only go between the testbed's hosts.
#
# Contract for callers:
#   lan_init           checks root and tools, takes the testbed lock, removes
#                      leftovers of an earlier run, installs the EXIT trap
#   lan_up N RATE      N hosts, every link RATE (tc syntax: 100mbit) both ways
#   lan_rate I UP DOWN host I's upload (its eth0's egress) and download (the
#                      switch-side end's egress) from now on, each a tc rate
#   lan_exec I CMD...  runs CMD inside host I
#   lan_spawn I LOG CMD...  starts CMD in host I in the background; its pid
#                      goes into LAN_PIDS and is stopped at teardown
#   lan_ip I           host I's address
# Teardown (on every exit, also on failure and Ctrl-C) stops every process
# still inside the testbed's namespaces, by pid, then deletes the namespaces.
# The kernel's neighbour (ARP) table is one for all namespaces: lan_up raises
# its limits when N hosts could fill it, and teardown puts the old ones back.
# Scripts that need their own cleanup set LAN_ON_EXIT to a function name.

LAN_PREFIX=lsw
LAN_SUBNET=10.77.0
LAN_LOCK=/run/lanswarm-lan.lock
LAN_HOSTS=0
LAN_PIDS=()
LAN_ON_EXIT=""
LAN_NEIGH_SAVED=""
LAN_NEIGH=/proc/sys/net/ipv4/neigh/default

lan_die() {
  echo "lan: $*" >&2
  exit 1
}

lan_ns() { echo "$LAN_PREFIX-h$1"; }
lan_ip() { echo "$LAN_SUBNET.$((10 + $1))"; }
lan_exec() {
  local host=$1
  shift
  ip netns exec "$(lan_ns "$host")" "$@"
}

lan_spawn() {
  local host=$1 log=$2
  shift 2
  ip netns exec "$(lan_ns "$host")" "$@" >"$log" 2>&1 &
  LAN_PIDS+=($!)
}

# Every namespace this testbed may have made, from this run or a dead one.
lan_namespaces() {
  ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E "^$LAN_PREFIX-(sw|h[0-9]+)$" || true
}

# True while pid runs (a zombie, dead but not yet reaped, does not count).
lan_alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# Stops every process inside the testbed's namespaces, all of them started
# by a testbed run (nothing else enters lsw-*); the namespaces stay.
lan_kill_all() {
  local ns pid pids=()
  for pid in "${LAN_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for ns in $(lan_namespaces); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do pids+=("$pid"); done
  done
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 30); do
      local alive=0
      for pid in "${pids[@]}"; do lan_alive "$pid" && alive=1; done
      ((alive)) || break
      sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
  for pid in "${LAN_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  LAN_PIDS=()
}

lan_down() {
  local ns
  lan_kill_all
  for ns in $(lan_namespaces); do ip netns delete "$ns" 2>/dev/null || true; done
  LAN_HOSTS=0
  lan_neigh_restore
}

# Every host may learn every other's address: N*(N-1) entries in a table the
# namespaces share. Past gc_thresh3 (1024 by default, so from 33 hosts on)
# the kernel drops new entries ("neighbor table overflow") and connections
# fail with "No route to host". lan_neigh_raise N lifts the three thresholds
# well above N^2 for the run; lan_neigh_restore puts back what was there.
lan_neigh_raise() {
  local n=$1 t1 t2 t3
  t3=$(cat "$LAN_NEIGH/gc_thresh3")
  ((n * n * 2 > t3)) || return 0
  [ -n "$LAN_NEIGH_SAVED" ] ||
    LAN_NEIGH_SAVED="$(cat "$LAN_NEIGH/gc_thresh1") $(cat "$LAN_NEIGH/gc_thresh2") $t3"
  t1=$((n * n)) t2=$((2 * n * n)) t3=$((4 * n * n))
  # Raise the highest first: the kernel wants thresh1 <= thresh2 <= thresh3.
  echo "$t3" >"$LAN_NEIGH/gc_thresh3" && echo "$t2" >"$LAN_NEIGH/gc_thresh2" && echo "$t1" >"$LAN_NEIGH/gc_thresh1" ||
    lan_die "cannot raise $LAN_NEIGH/gc_thresh1..3 for $n hosts"
  echo "lan: neighbour table thresholds raised to $t1 $t2 $t3 for $n hosts (were $LAN_NEIGH_SAVED)"
}

lan_neigh_restore() {
  [ -n "$LAN_NEIGH_SAVED" ] || return 0
  local t1 t2 t3
  read -r t1 t2 t3 <<<"$LAN_NEIGH_SAVED"
  echo "$t1" >"$LAN_NEIGH/gc_thresh1"
  echo "$t2" >"$LAN_NEIGH/gc_thresh2"
  echo "$t3" >"$LAN_NEIGH/gc_thresh3"
  LAN_NEIGH_SAVED=""
}

lan_on_exit() {
  local rc=$?
  trap '' INT TERM
  set +e
  [ -n "$LAN_ON_EXIT" ] && "$LAN_ON_EXIT" "$rc"
  lan_down
  [ -n "$(lan_namespaces)" ] && echo "lan: could not delete: $(lan_namespaces | tr '\n' ' ')" >&2
  exit "$rc"
}

lan_init() {
  [ "$(id -u)" = 0 ] || lan_die "the LAN testbed makes network namespaces and must run as root (try: sudo $0)"
  local t
  for t in ip tc flock; do command -v "$t" >/dev/null || lan_die "'$t' is missing (Debian: iproute2, util-linux)"; done
  # One testbed at a time: the namespace names are fixed.
  exec {LAN_LOCK_FD}>"$LAN_LOCK" || lan_die "cannot open $LAN_LOCK"
  flock -w 600 "$LAN_LOCK_FD" || lan_die "another testbed run holds $LAN_LOCK"
  trap lan_on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if [ -n "$(lan_namespaces)" ]; then
    echo "lan: removing leftovers of an earlier run: $(lan_namespaces | tr '\n' ' ')"
    lan_down
  fi
}

# lan_shape NS DEV RATE: tbf on DEV's egress. The bucket must hold a whole
# GSO segment (64 KiB) with room to spare, or tbf drops or fragments them
# and the machine, not the link, becomes the limit.
lan_shape() {
  ip netns exec "$1" tc qdisc replace dev "$2" root tbf rate "$3" burst 256kb latency 40ms
}

# lan_rate HOST UP DOWN: replaces the shaping of HOST's link: UP on its
# eth0 (what it sends), DOWN on the switch's end of the veth (what it gets).
lan_rate() {
  lan_shape "$(lan_ns "$1")" eth0 "$2"
  lan_shape "$LAN_PREFIX-sw" "h$1" "$3"
}

lan_up() {
  local n=$1 rate=$2 i sw=$LAN_PREFIX-sw
  ((n >= 1 && n <= 200)) || lan_die "lan_up: 1 to 200 hosts, not $n"
  lan_neigh_raise "$n"
  ip netns add "$sw" || lan_die "cannot create namespace $sw"
  ip -n "$sw" link set lo up
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  for ((i = 1; i <= n; i++)); do
    local ns
    ns=$(lan_ns "$i")
    ip netns add "$ns" || lan_die "cannot create namespace $ns"
    ip -n "$ns" link set lo up
    ip link add "h$i" netns "$sw" type veth peer name eth0 netns "$ns" ||
      lan_die "cannot create the veth pair of host $i"
    ip -n "$sw" link set "h$i" master br0 up
    ip -n "$ns" addr add "$(lan_ip "$i")/24" dev eth0
    ip -n "$ns" link set eth0 up
    lan_shape "$ns" eth0 "$rate"
    lan_shape "$sw" "h$i" "$rate"
    LAN_HOSTS=$i
  done
  # Wait until every host reaches host 1 (bridge ports start in "listening").
  for ((i = 2; i <= n; i++)); do
    local ok=0
    for _ in $(seq 50); do
      if lan_exec "$i" ping -c1 -W1 -q "$(lan_ip 1)" >/dev/null 2>&1; then ok=1; break; fi
      sleep 0.1
    done
    ((ok)) || lan_die "host $i cannot reach host 1 at $(lan_ip 1)"
  done
}
