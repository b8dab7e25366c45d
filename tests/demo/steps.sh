# shellcheck shell=bash
# Numbered steps for the demo scripts (tests/demo/demo.sh, docker/demo.sh).
# Set `steps` (how many) before calling `step N NAME`; step_no and step_name
# tell a cleanup trap where a run stopped. DEMO_FAIL_AT=N fails on purpose at
# the start of step N, to test that cleanup.

step_no=0
step_name="setting up"
start_ns=$(date +%s%N)

elapsed() { awk -v ns="$(($(date +%s%N) - start_ns))" 'BEGIN { printf "%.1fs", ns / 1e9 }'; }

step() {
  step_no=$1
  step_name=$2
  echo
  echo "== [$step_no/$steps] $step_name  (t=$(elapsed))"
  if [ "${DEMO_FAIL_AT:-}" = "$step_no" ]; then
    echo "DEMO_FAIL_AT=$step_no: failing here on purpose" >&2
    exit 1
  fi
}
