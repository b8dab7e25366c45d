#!/usr/bin/env bash
# Runs each Catch2 binary given as an argument, shows its own summary, and
# ends with one total line "N passed, N failed" (test cases) for CI.
# Exits non-zero when any binary fails or runs no test.
set -uo pipefail

passed=0 failed=0 status=0
for bin in "$@"; do
  echo "== $bin"
  log=$(mktemp)
  "$bin" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  summary=$(grep -E '^(All tests passed|test cases:)' "$log" | tail -n 1)
  rm -f "$log"
  if [[ $summary =~ All\ tests\ passed.*\ in\ ([0-9]+)\ test\ case ]]; then
    passed=$((passed + BASH_REMATCH[1]))
  elif [[ $summary =~ test\ cases:\ +([0-9]+)\ \|\ +([0-9]+)\ passed\ \|\ +([0-9]+)\ failed ]]; then
    passed=$((passed + BASH_REMATCH[2])); failed=$((failed + BASH_REMATCH[3]))
  elif [[ $summary =~ test\ cases:\ +([0-9]+)\ \|\ +([0-9]+)\ failed ]]; then
    failed=$((failed + BASH_REMATCH[2]))
  else
    echo "$bin: no Catch2 summary (crashed or ran no test)" >&2
    failed=$((failed + 1))
  fi
  [ "$rc" -eq 0 ] || status=1
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] || status=1
exit $status
