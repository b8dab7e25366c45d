#!/usr/bin/env bash
# `make demo-docker`: the compose demo (docker-compose.yml) end to end. It
# prepares build/docker/ (stripped static binaries, a random source.jpg and
# its .fileinfo), builds the FROM-scratch images lanswarm/{coordinator,peer}:demo,
# starts a coordinator and two holders, lets the getter download the file
# from both, and checks the copy on the host. docker/README.md explains it.
#
#   docker/demo.sh            the whole demo (needs bin/static/ and a running dockerd)
#   docker/demo.sh prepare    only build/docker/, for `docker-compose up` by hand
#
# Environment:
#   DOCKER_DEMO_SIZE_MB  size of source.jpg in MiB (default 8)
#   LANSWARM_DEMO_NET    the /24 of the demo network, as A.B.C (default 10.77.0)
#   COMPOSE              the compose command (default: docker-compose, else docker compose)
#   DEMO_FAIL_AT=N       fail on purpose at the start of step N (tests the cleanup)
#
# Whatever happens (success, failure, Ctrl-C) it removes the containers, the
# network and the volumes it created; the images stay, so a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-run}
size_mb=${DOCKER_DEMO_SIZE_MB:-8}
export LANSWARM_DEMO_NET=${LANSWARM_DEMO_NET:-10.77.0}
net=$LANSWARM_DEMO_NET
project=lanswarm-demo
work=build/docker
bin=bin/static
steps=6

started=""  # set once containers may exist: cleanup runs `down -v`
source tests/demo/steps.sh

fail() {
  echo "docker demo: $*" >&2
  exit 1
}

# shellcheck disable=SC2317  # runs from the EXIT trap
cleanup() {
  local rc=$?
  trap '' INT TERM  # a second Ctrl-C must not cut the cleanup short
  set +e
  if [ -n "$started" ]; then
    case $rc in 0 | 130 | 143) ;; *)
      echo >&2
      echo "--- last lines of each container's log:" >&2
      timeout 30 "${compose[@]}" logs --no-color --tail 12 >&2
      ;;
    esac
    echo
    echo "== removing the demo's containers, network and volumes"
    timeout 60 "${compose[@]}" down -v --remove-orphans -t 5 >"$work/down.log" 2>&1 ||
      echo "docker demo: '${compose[*]} down -v' failed: $(tail -n 2 "$work/down.log")" >&2
  fi
  echo
  case $rc in
    0) echo "docker demo OK ($(elapsed) in all)" ;;
    130 | 143) echo "docker demo interrupted during step $step_no/$steps ($step_name)" >&2 ;;
    *) echo "docker demo FAILED during step $step_no/$steps ($step_name), exit code $rc" >&2 ;;
  esac
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Fails when another route covers part of $net.0/24 (a LAN, a VPN, another
# compose project's network): the demo would hide it, or not start.
check_subnet() {
  command -v ip >/dev/null || return 0
  local -a o
  IFS=. read -ra o <<<"$net"
  local ours=$(((10#${o[0]} << 24) | (10#${o[1]} << 16) | (10#${o[2]} << 8)))
  local dst rest len mask
  while read -r dst rest; do
    [[ $dst =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)(/([0-9]+))?$ ]] || continue
    len=${BASH_REMATCH[6]:-32}
    ((len > 24)) && len=24
    mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
    if (((((BASH_REMATCH[1] << 24) | (BASH_REMATCH[2] << 16) | (BASH_REMATCH[3] << 8) | BASH_REMATCH[4]) & mask) ==
      (ours & mask))); then
      fail "$net.0/24 overlaps the route '$dst $rest'; choose another /24: LANSWARM_DEMO_NET=10.78.0 make demo-docker"
    fi
  done < <(ip -4 route show)
}

# build/docker/: context/ (the Dockerfile and stripped binaries), data/
# (source.jpg and its .fileinfo, mounted read-only into the holders), out/
# (where the getter writes).
prepare() {
  [[ $size_mb =~ ^[1-9][0-9]{0,3}$ ]] || fail "DOCKER_DEMO_SIZE_MB must be a whole number of MiB from 1 to 9999, not '$size_mb'"
  local b
  for b in coordinator peer fileinfo; do
    [ -x "$bin/$b" ] || fail "$bin/$b is missing; run 'make static' first"
  done
  command -v strip >/dev/null || fail "strip is missing (Debian package binutils)"
  mkdir -p "$work/context" "$work/data"
  for b in coordinator peer; do
    strip -o "$work/context/$b" "$bin/$b" || fail "cannot strip $bin/$b"
  done
  cp docker/Dockerfile "$work/context/Dockerfile"
  # Random bytes: there is no JPEG encoder without new dependencies, and any
  # file will do. A new one each run, so nothing can come from a cache.
  rm -f "$work/data/source.jpg" "$work/data/source.jpg.fileinfo"
  head -c $((size_mb * 1024 * 1024)) /dev/urandom >"$work/data/source.jpg"
  "$bin/fileinfo" create --quiet "$work/data/source.jpg"
  chmod 0644 "$work/data/source.jpg" "$work/data/source.jpg.fileinfo"
  rm -rf "$work/out"
  mkdir -p "$work/out"
  # The getter runs as root without capabilities (cap_drop: ALL), so it
  # writes here only through the mode bits when a user owns the directory.
  chmod 0777 "$work/out"
  # The cluster key every container proves (doc/security.md): a new one each
  # run. Mode 0600 and owned by whoever runs this; the containers read it as
  # root, so run the demo as root (as `make demo-docker` does).
  rm -f "$work/cluster.key"
  "$bin/peer" gen-key "$work/cluster.key" >/dev/null || fail "cannot write $work/cluster.key"
}

case $mode in
  run) ;;
  prepare)
    trap - EXIT
    prepare
    echo "prepared $work/ ($size_mb MiB source.jpg); now: docker-compose up --build --exit-code-from getter"
    exit 0
    ;;
  *) fail "usage: docker/demo.sh [prepare]" ;;
esac

if [ -n "${COMPOSE:-}" ]; then
  read -ra compose <<<"$COMPOSE"
elif command -v docker-compose >/dev/null; then
  compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  fail "neither docker-compose nor the docker compose plugin is installed (make demo-docker installs docker-compose)"
fi
compose+=(-p "$project" -f docker-compose.yml)
if ! [[ $net =~ ^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){2}$ ]]; then
  fail "LANSWARM_DEMO_NET must be the first three numbers of an IPv4 /24 (like 10.77.0), not '$net'"
fi
docker info >/dev/null 2>&1 || fail "docker does not answer ('docker info' fails); is dockerd running? (make demo-docker starts it)"

# Every wait is bounded; --foreground keeps each command in our process
# group, so Ctrl-C reaches it at once instead of after its timeout.
step 1 "prepare $work/: stripped binaries, a $size_mb MiB source.jpg and its .fileinfo"
prepare
"$bin/fileinfo" show "$work/data/source.jpg.fileinfo" | sed -n 1,3p
# A run cut short (kill -9, a reboot) may have left its containers behind.
timeout --foreground 60 "${compose[@]}" down -v --remove-orphans -t 5 >"$work/down.log" 2>&1 ||
  fail "cannot remove an earlier run's containers: $(tail -n 2 "$work/down.log")"
check_subnet

step 2 "build the images (FROM scratch)"
timeout --foreground 300 "${compose[@]}" build >"$work/build.log" 2>&1 || { tail -n 20 "$work/build.log" >&2; fail "the image build failed (log: $work/build.log)"; }
# A rebuild with new binaries leaves the previous images untagged.
docker image prune -f --filter label=lanswarm.demo=true >/dev/null || true
docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep -E '^lanswarm/(coordinator|peer):demo ' ||
  fail "the images lanswarm/coordinator:demo and lanswarm/peer:demo are missing after the build"

step 3 "start the coordinator and two holders on $net.0/24, then the getter"
# `up` waits until the coordinator and both holders report healthy.
started=1
timeout --foreground 120 "${compose[@]}" up -d >"$work/up.log" 2>&1 || { tail -n 20 "$work/up.log" >&2; fail "'${compose[*]} up -d' failed (log: $work/up.log)"; }
declare -A id
for s in coordinator seed1 seed2 getter; do
  id[$s]=$("${compose[@]}" ps -q "$s")
  [ -n "${id[$s]}" ] || fail "no container for the service $s"
done
echo "coordinator $net.10, seed1 $net.11, seed2 $net.12, getter $net.13"

step 4 "the getter downloads source.jpg from seed1 and seed2 (5 ms latency)"
getter_rc=$(timeout --foreground 60 docker wait "${id[getter]}") || fail "the getter did not finish within 60 s"
getter_log=$(docker logs "${id[getter]}" 2>&1)
echo "$getter_log"
[ "$getter_rc" = 0 ] || fail "the getter exited with code $getter_rc"
grep -q '^got source.jpg: .*every chunk verified' <<<"$getter_log" || fail "the getter exited 0 but did not report the file as verified"
for s in seed1 seed2; do
  up_line=$(docker exec "${id[$s]}" /usr/local/bin/peer status | grep -m1 'uploaded') || fail "'peer status' fails in $s"
  echo "$s: $up_line"
  if [[ $up_line =~ uploaded\ 0\ B ]]; then fail "$s uploaded nothing: the getter did not download from both holders"; fi
done

step 5 "io_uring is what the daemons run on, inside the containers"
# Each daemon logs its ring's setup when it starts; without io_uring it
# would have exited with "io_uring is not available" instead.
for s in coordinator seed1 seed2; do
  log=$(docker logs "${id[$s]}" 2>&1)
  setup=$(grep -m1 -o 'io_uring [a-z+-]*' <<<"$log") || fail "$s's log does not name its io_uring setup"
  pid=$(docker inspect -f '{{.State.Pid}}' "${id[$s]}")
  fds=$(ls -l "/proc/$pid/fd" 2>/dev/null) || fds=""
  if [ -z "$fds" ]; then
    echo "$s: $setup (its fds are not visible from here: dockerd runs elsewhere)"
    continue
  fi
  rings=$(grep -c 'anon_inode:\[io_uring\]' <<<"$fds") || fail "$s (pid $pid on the host) has no io_uring open"
  echo "$s: $setup, $rings ring(s) open (pid $pid on the host)"
done

step 6 "the copy is the same file"
cmp "$work/data/source.jpg" "$work/out/source.jpg" || fail "cmp: $work/out/source.jpg differs from $work/data/source.jpg"
echo "cmp: $work/out/source.jpg is byte for byte $work/data/source.jpg"
"$bin/fileinfo" verify "$work/data/source.jpg.fileinfo" "$work/out/source.jpg"
exit 0
