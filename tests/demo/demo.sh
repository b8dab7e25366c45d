#!/usr/bin/env bash
# `make demo`: the main job end to end on loopback. One coordinator and three
# peer daemons sharing a cluster key (a client without it is shown refused);
# peers 1 and 2 seed a random file, peer 3 downloads it from both with
# `peer get`, the copy is checked, and peer 3 is shown seeding it.
#
# Environment:
#   DEMO_SIZE_MB       size of the sample file in MiB (default 256)
#   LANSWARM_BIN_DIR   where the binaries are (default bin/)
#   DEMO_FAIL_AT=N     fail on purpose at the start of step N (tests the cleanup)
#
# Everything it starts is stopped, and its temporary directory removed, on
# success, on failure and on Ctrl-C. It only ever signals pids it started.
set -euo pipefail
cd "$(dirname "$0")/../.."

size_mb=${DEMO_SIZE_MB:-256}
bin=${LANSWARM_BIN_DIR:-bin}
steps=8

dir=""
coord_pid=""
peer_dirs=()   # state dirs of the daemons being started, for kill-server
peer_pids=()   # their pids once known, in case kill-server cannot stop one
source tests/demo/steps.sh

fail() {
  echo "demo: $*" >&2
  exit 1
}

# shellcheck disable=SC2317  # show_logs and cleanup run from the EXIT trap
# Shows the end of each log, so a failure can be understood after the
# temporary directory is gone.
show_logs() {
  local log
  for log in "$dir"/coordinator.log "$dir"/peer*/peer.log; do
    [ -s "$log" ] || continue
    echo "--- last lines of ${log#"$dir"/}:" >&2
    tail -n 8 "$log" >&2
  done
}

# shellcheck disable=SC2317
cleanup() {
  local rc=$?
  trap '' INT TERM  # a second Ctrl-C must not cut the cleanup short
  set +e
  echo
  echo "== stopping what the demo started"
  case $rc in 0 | 130 | 143) ;; *) [ -n "$dir" ] && show_logs ;; esac
  # In parallel: kill-server waits until its daemon has been reaped, which
  # can take a while where init reaps orphans slowly (some containers).
  local i stoppers=()
  for i in "${!peer_dirs[@]}"; do
    {
      local pid=${peer_pids[$i]:-}
      if ! timeout 15 "$bin/peer" kill-server --state-dir "${peer_dirs[$i]}" && [ -n "$pid" ]; then
        echo "kill-server failed for ${peer_dirs[$i]}; sending SIGKILL to pid $pid" >&2
        kill -KILL "$pid" 2>/dev/null
      fi
    } &
    stoppers+=($!)
  done
  for i in "${stoppers[@]}"; do wait "$i"; done
  # Ctrl-C reaches the coordinator too (it shares our process group), so it
  # may have stopped already.
  if [ -n "$coord_pid" ]; then
    if kill -0 "$coord_pid" 2>/dev/null; then
      kill -TERM "$coord_pid"
      for _ in $(seq 50); do kill -0 "$coord_pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$coord_pid" 2>/dev/null && { echo "coordinator still running; SIGKILL" >&2; kill -KILL "$coord_pid"; }
      wait "$coord_pid" 2>/dev/null
      echo "coordinator stopped (pid $coord_pid)"
    else
      wait "$coord_pid" 2>/dev/null
      echo "coordinator had already exited (pid $coord_pid)"
    fi
  fi
  if [ -n "$dir" ]; then
    rm -rf "$dir" && echo "removed $dir"
  fi
  echo
  case $rc in
    0) echo "demo OK ($(elapsed) in all)" ;;
    130 | 143) echo "demo interrupted during step $step_no/$steps ($step_name)" >&2 ;;
    *) echo "demo FAILED during step $step_no/$steps ($step_name), exit code $rc" >&2 ;;
  esac
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Every local TCP port in use on this machine, any state, IPv4 and IPv6.
ports_in_use() {
  local _ local_addr
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | while read -r _ local_addr _; do
    if [[ $local_addr == *:* ]]; then printf '%d\n' "0x${local_addr##*:}"; fi
  done
}

# Sets `port` to one from 20000-29999 (below the kernel's ephemeral range)
# that nothing uses and the demo has not picked yet.
picked_ports=" "
free_port() {
  local used
  used=" $(ports_in_use | tr '\n' ' ')"
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 10000))
    if [[ $used != *" $port "* && $picked_ports != *" $port "* ]]; then
      picked_ports+="$port "
      return 0
    fi
  done
  fail "no free port found in 20000-29999"
}

[[ $size_mb =~ ^[1-9][0-9]*$ ]] || fail "DEMO_SIZE_MB must be a positive whole number of MiB, not '$size_mb'"
for b in coordinator peer fileinfo; do
  [ -x "$bin/$b" ] || fail "$bin/$b is missing; run 'make' first"
done

step 1 "a temporary directory and a cluster key"
dir=$(mktemp -d "${TMPDIR:-/tmp}/lanswarm-demo-XXXXXX")
avail_kb=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
need_kb=$((size_mb * 2 * 1024 + 64 * 1024))  # the sample, the download, some slack
((avail_kb >= need_kb)) || fail "$dir has $((avail_kb / 1024)) MiB free; the demo needs $((need_kb / 1024)) MiB (set DEMO_SIZE_MB lower)"
echo "$dir"
echo "\$ peer gen-key cluster.key"
"$bin/peer" gen-key "$dir/cluster.key"
# One config for all: only the key (the rest comes from flags).
printf '[auth]\nkey_file = "%s"\n' "$dir/cluster.key" >"$dir/lanswarm.toml"

# A port free when picked can be taken before the daemon binds it; each start
# is tried on up to 5 ports, again only when the port was the problem.
step 2 "the coordinator, on a free loopback port"
for attempt in 1 2 3 4 5; do
  free_port
  coord=127.0.0.1:$port
  "$bin/coordinator" -c "$dir/lanswarm.toml" --listen "$coord" --log-level warn 2>"$dir/coordinator.log" &
  coord_pid=$!
  for _ in $(seq 50); do
    kill -0 "$coord_pid" 2>/dev/null || break
    "$bin/coordinator" status "$coord" --key-file "$dir/cluster.key" --timeout-ms 500 >/dev/null 2>&1 && break
    sleep 0.1
  done
  kill -0 "$coord_pid" 2>/dev/null && break
  wait "$coord_pid" || true
  coord_pid=""
  grep -q 'Address already in use' "$dir/coordinator.log" && ((attempt < 5)) && continue
  fail "the coordinator did not start: $(tail -n 3 "$dir/coordinator.log")"
done
"$bin/coordinator" status "$coord" --key-file "$dir/cluster.key" --timeout-ms 2000 >/dev/null ||
  fail "the coordinator does not answer on $coord"
echo "coordinator running: pid $coord_pid, listening on $coord (log: $dir/coordinator.log)"
echo "\$ coordinator status $coord    # without the key"
if refused=$("$bin/coordinator" status "$coord" --timeout-ms 2000 2>&1); then
  fail "the coordinator answered a client without the key"
fi
echo "$refused"

step 3 "three peer daemons, each on a free loopback port"
for i in 1 2 3; do
  state=$dir/peer$i
  peer_dirs[i - 1]=$state  # before starting: a start that fails late may leave a daemon
  for attempt in 1 2 3 4 5; do
    free_port
    out=$("$bin/peer" start-server --config "$dir/lanswarm.toml" --state-dir "$state" --listen "127.0.0.1:$port" \
      --coordinator "$coord" 2>&1) && break
    [[ $out == *"Address already in use"* ]] && ((attempt < 5)) && continue
    fail "peer $i did not start: $out"
  done
  echo "$out"
  [[ $out =~ pid\ ([0-9]+) ]] || fail "cannot read peer $i's pid from: $out"
  peer_pids[i - 1]=${BASH_REMATCH[1]}
done

step 4 "a sample file of $size_mb MiB of random bytes"
sample=$dir/sample.bin
head -c $((size_mb * 1024 * 1024)) /dev/urandom >"$sample"
ls -l "$sample"

step 5 "peers 1 and 2 share it"
echo "\$ peer share --state-dir peer1 sample.bin"
"$bin/peer" share --state-dir "$dir/peer1" "$sample"
echo "\$ peer share --state-dir peer2 --fileinfo sample.bin.fileinfo sample.bin"
"$bin/peer" share --state-dir "$dir/peer2" --fileinfo "$sample.fileinfo" "$sample"

step 6 "peer 3 downloads it from peers 1 and 2"
got=$dir/downloaded.bin
echo "\$ peer get --state-dir peer3 sample.bin.fileinfo downloaded.bin"
"$bin/peer" get --config "$dir/lanswarm.toml" --state-dir "$dir/peer3" --coordinator "$coord" --wait 30 \
  "$sample.fileinfo" "$got"
for i in 1 2; do
  status=$("$bin/peer" status --state-dir "$dir/peer$i")
  echo "peer $i: $(grep -m1 'uploaded' <<<"$status" || echo '(no upload figure)')"
done

step 7 "the copy is the same file"
cmp "$sample" "$got" || fail "cmp: the download differs from the original"
echo "cmp: downloaded.bin is byte for byte sample.bin"
"$bin/fileinfo" verify "$sample.fileinfo" "$got"

step 8 "peer 3 now seeds the file; the coordinator lists 3 holders"
status=$("$bin/peer" status --state-dir "$dir/peer3")
echo "$status"
grep -Eq "^whole .*$got\$" <<<"$status" || fail "peer 3 does not list $got as whole"
# Peer 3 reports its new file right after the download; give the report a moment.
holders_listed() {
  local json
  json=$("$bin/coordinator" status "$coord" --key-file "$dir/cluster.key" --json) &&
    grep -Eq '"entries": *3\b' <<<"$json"
}
for _ in $(seq 50); do
  holders_listed && break
  sleep 0.1
done
"$bin/coordinator" status "$coord" --key-file "$dir/cluster.key"
holders_listed || fail "the coordinator does not list 3 (peer, file) entries"

exit 0
