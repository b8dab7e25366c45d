# shellcheck shell=bash
# The systems a swarm benchmark races, each distributing $file from the seed
# (host 2) to the getters (hosts 3..N+2) on the links the scenario shaped.
# Sourced by tests/lan/bench_swarm.sh after lan.sh, swarm.sh, bench_links.sh
# and bench_measure.sh; reads the run's globals (work, n, file, bytes, chunk,
# tmin). Every run_SYSTEM sets up, races (bench_measure.sh's race), stops
# what it started and removes its files.
#
#   lanswarm    coordinator on host 1, `peer share` on the seed, `peer get`
#               through each getter's daemon
#   bittorrent  python3-libtorrent (tests/lan/bt_node.py), opentracker on host 1;
#               TCP only: with libtorrent's default uTP (BENCH_BT_UTP=1) its
#               makespan at N = 4 and 300 Mbit/s was 3.3 x T_min, not 1.4
#   chain       a pipelined chain: seed -> getter 1 -> ... -> getter N, each
#               hop `socat | tee | socat` (one TCP flow per link)
#   udpcast     udp-sender on the seed, udp-receiver on every getter: one
#               multicast stream on the bridge
#   http        nginx on the seed's host, curl on every getter (N·F/u_s by
#               construction: not in the default set)

export LANSWARM_BT_UTP=${BENCH_BT_UTP:-0}

# bench_limit FACTOR: seconds to wait for a race, FACTOR x T_min plus a minute.
bench_limit() { awk -v f="$1" -v t="$tmin" 'BEGIN { printf "%d", f * t + 60 }'; }

lanswarm_getter() { swarm_get "$1" "$file.fileinfo" "$work/lanswarm/got$1/f.bin" --quiet; }
run_lanswarm() {
  local h
  swarm_init "$work/lanswarm"
  SWARM_CHUNK_SIZE=$chunk swarm_coordinator 1
  for ((h = 2; h <= n + 2; h++)); do swarm_peer "$h"; done
  for ((h = 3; h <= n + 2; h++)); do mkdir -p "$work/lanswarm/got$h"; done
  SWARM_CHUNK_SIZE=$chunk swarm_share 2 "$file"
  swarm_wait_entries 1
  race lanswarm "$(bench_limit 10)" lanswarm_getter "$work/lanswarm"
  echo "   the seed uploaded $(($(swarm_uploaded_bytes 2) / 1048576)) MiB"
  swarm_stop
  lan_kill_all
  reap_getters
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$work/lanswarm"
}

http_getter() {
  lan_exec "$1" curl -sS --fail -o "$work/http/got$1/f.bin" "http://$(lan_ip 2):8080/f.bin"
}
run_http() {
  local h
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
  for ((h = 3; h <= n + 2; h++)); do mkdir -p "$work/http/got$h"; done
  race http "$(bench_limit $((2 * n)))" http_getter "$work/http"
  lan_kill_all
  reap_getters
  rm -rf "$work/http"
}

# Writes done-HOST itself when whole, then seeds until lan_kill_all stops it:
# done-HOST says whether it got there (a node that takes longer than
# lan_kill_all's 3 s to leave the swarm is ended by SIGKILL).
bt_getter() {
  lan_exec "$1" /usr/bin/python3 tests/lan/bt_node.py get \
    "$work/bt/f.torrent" "$work/bt/got$1" "$(lan_ip "$1")" "$work/done-$1" >"$work/bt/node$1.log" 2>&1
  [ -s "$work/done-$1" ]
}
run_bittorrent() {
  local h hash
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
  sleep 2 # the seed announces first: the getters learn of it from the tracker
  for ((h = 3; h <= n + 2; h++)); do mkdir -p "$work/bt/got$h"; done
  race bittorrent "$(bench_limit 10)" bt_getter "$work/bt"
  lan_kill_all
  reap_getters
  rm -rf "$work/bt"
}

# The chain: every process of it starts at the release. Each getter listens
# on :7000 and forwards to the next getter as bytes arrive; socat's connect
# retries every 10 ms until the next one listens. A getter's copy is whole
# when its tee has written all BYTES of it: the getter stamps done-HOST
# then, before its forwarding socat has finished. socat is left at its
# defaults (8 KiB reads), as a sysadmin would type it.
CHAIN_PORT=7000
chain_connect() { echo "TCP:$(lan_ip "$1"):$CHAIN_PORT,retry=1000,interval=0.01"; }
chain_seed() { lan_exec 2 socat -u "OPEN:$file,rdonly" "$(chain_connect 3)"; }
chain_getter() {
  local h=$1 got stamp listen
  got=$(printf %q "$work/chain/got$1/f.bin")
  listen="TCP-LISTEN:$CHAIN_PORT,bind=$(lan_ip "$h"),reuseaddr"
  # Writes the time (ns) once the copy has all its bytes.
  stamp="[ \"\$(stat -c %s $got)\" = $bytes ] && echo \"\${EPOCHREALTIME//[!0-9]/}000\" >$(printf %q "$work/done-$h")"
  if ((h < n + 2)); then
    lan_exec "$h" bash -c "socat -u $listen STDOUT | { tee $got; $stamp; } | socat -u STDIN $(chain_connect $((h + 1)))"
  else
    lan_exec "$h" bash -c "socat -u $listen STDOUT >$got; $stamp"
  fi
  [ -s "$work/done-$h" ]
}
run_chain() {
  local h
  for ((h = 3; h <= n + 2; h++)); do mkdir -p "$work/chain/got$h"; done
  race chain "$(bench_limit 6)" chain_getter "$work/chain" chain_seed
  lan_kill_all
  reap_getters
  rm -rf "$work/chain"
}

# udpcast, found to work here (udpcast 20120424):
# - a route for 224.0.0.0/4 on eth0 in every namespace, or the sockets have
#   nowhere to send multicast (the hosts have no default route);
# - the receivers name the rendezvous address, 224.0.0.1, as the sender
#   uses: left alone they look for the sender by broadcast and never find it;
# - the sender starts once all N receivers have connected (--min-receivers,
#   --nokbd) and repeats its HELLO every 20 ms (--rexmit-hello-interval),
#   else receivers released together wait ~2 s to be taken in;
# - --max-bitrate counts IP packets, not the Ethernet header tbf also
#   counts: 97% of the slowest link gave no retransmissions, 98% was at
#   the edge. Multicast goes at one rate for everyone: min(u_s, d_min);
# - a receiver waits --exit-wait (500 ms) after the last ACK before it
#   exits; 0 makes its exit the moment the copy is whole;
# - host 1 (no receiver) would get every packet flooded to it: its bridge
#   port has mcast_flood off for the run.
UDPCAST_RDV=224.0.0.1
udpcast_getter() {
  lan_exec "$1" udp-receiver --interface eth0 --mcast-rdv-address "$UDPCAST_RDV" --nokbd --exit-wait 0 \
    --file "$work/udpcast/got$1/f.bin" >"$work/udpcast/receiver$1.log" 2>&1
}
run_udpcast() {
  local h kbit
  for ((h = 2; h <= n + 2; h++)); do
    lan_exec "$h" ip route replace 224.0.0.0/4 dev eth0
    mkdir -p "$work/udpcast/got$h"
  done
  ip -n "$LAN_PREFIX-sw" link set h1 type bridge_slave mcast_flood off
  kbit=$(($(links_broadcast_rate) * 97 / 100))
  lan_spawn 2 "$work/udpcast/sender.log" udp-sender --file "$file" --interface eth0 --min-receivers "$n" --nokbd \
    --rexmit-hello-interval 20 --max-bitrate "${kbit}k"
  sleep 0.5
  race udpcast "$(bench_limit 6)" udpcast_getter "$work/udpcast"
  echo "   udp-sender at ${kbit} kbit/s: $(grep -o 're-xmits=[0-9]*' "$work/udpcast/sender.log" | tail -n 1)"
  lan_kill_all
  reap_getters
  ip -n "$LAN_PREFIX-sw" link set h1 type bridge_slave mcast_flood on || true
  for ((h = 2; h <= n + 2; h++)); do lan_exec "$h" ip route del 224.0.0.0/4 dev eth0 || true; done
  rm -rf "$work/udpcast"
}
