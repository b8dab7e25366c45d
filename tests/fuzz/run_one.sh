#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time; `make fuzz` calls it once per
# target, FUZZ_JOBS at a time.
#   tests/fuzz/run_one.sh TARGET SECONDS MAX_LEN
# Binary build/fuzz/TARGET; corpus build/fuzz/corpus/TARGET (kept between
# runs; new inputs go there); seeds, read only, from build/fuzz/seeds/TARGET
# (write_seeds) and tests/fuzz/seeds/TARGET (checked in), when present; log
# build/fuzz/TARGET.log; a crashing input goes to build/fuzz/artifacts/TARGET/.
# Prints one line: execs, coverage, seconds. On a crash, leak, timeout or
# property violation: the log's tail and how to reproduce, and exit 1.
set -uo pipefail

target=$1 seconds=$2 max_len=$3
dir=build/fuzz
corpus=$dir/corpus/$target
artifacts=$dir/artifacts/$target
log=$dir/$target.log
mkdir -p "$corpus" "$artifacts"
seeds=()
for s in "$dir/seeds/$target" "tests/fuzz/seeds/$target"; do
  [ -d "$s" ] && seeds+=("$s")
done

start=$(date +%s)
# -timeout: one input running 10 s is a hang. -rss_limit_mb: ASan's
# quarantine alone takes 256 MB; two fuzzers at once stay inside the machine.
"$dir/$target" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
  -use_value_profile=1 -print_final_stats=1 -artifact_prefix="$artifacts/" \
  "$corpus" "${seeds[@]}" >"$log" 2>&1
rc=$?
elapsed=$(( $(date +%s) - start ))

if [ $rc -ne 0 ]; then
  echo "=== $target FAILED (exit $rc after $elapsed s); tail of $log:"
  tail -n 60 "$log"
  find "$artifacts" -type f -newermt "@$start" | while read -r a; do
    echo "=== reproduce: $dir/$target $a"
  done
  exit 1
fi

# The last status line ("#N DONE cov: C ft: F corp: U/B ...") and the stats.
status=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
field() { sed -nE "s/.* $1: ([0-9]+).*/\1/p" <<<"$status"; }
execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log")
corp=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$status")
printf '%-18s %10s execs %7s/s  cov %5s  ft %6s  corpus %5s  %4s s\n' \
  "$target" "${execs:-?}" "${rate:-?}" "$(field cov)" "$(field ft)" "${corp:-?}" "$elapsed"
