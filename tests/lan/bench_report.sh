#!/usr/bin/env bash
# Turns the files of tests/lan/bench_swarm.sh into summary.md (the tables
# for doc/benchmarks.md) and swarm.png (gnuplot).
#   bench_report.sh DIR MIB
# DIR holds times.tsv (system N getter seconds), runs.tsv (system N makespan
# unfinished cpu_busy) and tmin.tsv (N rate_mbit iperf_mbit tmin_rate tmin_iperf).
set -euo pipefail
dir=$1
mib=$2
[ -s "$dir/times.tsv" ] && [ -s "$dir/runs.tsv" ] && [ -s "$dir/tmin.tsv" ] || { echo "bench_report: missing results in $dir" >&2; exit 1; }

{
  echo "| system | N | makespan | ÷ T_min (tbf rate) | ÷ T_min (iperf3) | first done | median | unfinished | CPU busy |"
  echo "|---|---|---|---|---|---|---|---|---|"
  while IFS=$'\t' read -r system n makespan unfinished cpu; do
    read -r _ rate goodput tmin_rate tmin_iperf < <(awk -v n="$n" '$1 == n' "$dir/tmin.tsv")
    read -r first median < <(awk -F'\t' -v s="$system" -v n="$n" '$1 == s && $2 == n { print $4 }' "$dir/times.tsv" |
      sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "- -"; else printf "%s %s\n", v[1], v[int((NR + 1) / 2)] }')
    awk -v s="$system" -v n="$n" -v m="$makespan" -v a="$tmin_rate" -v b="$tmin_iperf" -v f="$first" -v med="$median" \
      -v u="$unfinished" -v c="$cpu" 'BEGIN {
        printf "| %s | %d | %.2f s | %.2f | %.2f | %s s | %s s | %d | %.0f%% |\n", s, n, m, m / a, m / b, f, med, u, c * 100 }'
  done <"$dir/runs.tsv"
  echo
  echo "T_min = max(F/u_s, F/d_min, N·F/(u_s + Σu_i)) for F = $mib MiB; with equal links it is F/u:"
  echo
  echo "| N | tbf rate | iperf3, slowest link of the ring | T_min at the tbf rate | T_min at the iperf3 rate |"
  echo "|---|---|---|---|---|"
  awk '{ printf "| %d | %d Mbit/s | %.1f Mbit/s | %.2f s | %.2f s |\n", $1, $2, $3, $4, $5 }' "$dir/tmin.tsv"
  echo
  echo "Each getter's completion time, sorted (s):"
  echo
  awk -F'\t' 'NR > 1 { k = $1 " N=" $2; t[k] = t[k] " " $4; if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
    END { for (i = 1; i <= n; i++) print order[i] ":" t[order[i]] }' "$dir/times.tsv" |
    while IFS=: read -r key times; do
      echo "- $key: $(tr ' ' '\n' <<<"$times" | grep . | sort -g | paste -sd ' ')"
    done
} >"$dir/summary.md"

# One panel per N: completion time by getter rank, log scale, T_min dashed.
plot=$dir/plot.gp
{
  echo "set terminal pngcairo noenhanced size 1100,460 font 'sans,10'"
  echo "set output '$dir/swarm.png'"
  echo "set datafile separator '\t'"
  echo "set logscale y"
  echo "set grid ytics mytics"
  echo "set key top left"
  echo "set xlabel 'getters done'"
  echo "set ylabel 'seconds since the start (log)'"
  ns=$(awk 'NR > 1 { print $2 }' "$dir/times.tsv" | sort -nu)
  echo "set multiplot layout 1,$(wc -w <<<"$ns") title 'One seed, N getters, $mib MiB, equal tbf-shaped links: completion times'"
  for n in $ns; do
    tmin=$(awk -v n="$n" '$1 == n { print $5 }' "$dir/tmin.tsv")
    mbit=$(awk -v n="$n" '$1 == n { print $2 }' "$dir/tmin.tsv")
    echo "set title 'N = $n, $mbit Mbit/s links (T_min = $tmin s at the iperf3 rate)'"
    echo "set xrange [0:$((n + 1))]"
    line="plot $tmin with lines dt 2 lc rgb 'black' title 'T_min'"
    for s in lanswarm bittorrent http; do
      grep -q "^$s	$n	" "$dir/times.tsv" || continue
      awk -F'\t' -v s="$s" -v n="$n" '$1 == s && $2 == n { print $4 }' "$dir/times.tsv" | sort -g | awk '{ print NR "\t" $1 }' >"$dir/$s-$n.dat"
      line+=", '$dir/$s-$n.dat' using 1:2 with linespoints title '$s'"
    done
    echo "$line"
  done
  echo "unset multiplot"
} >"$plot"
gnuplot "$plot"
cat "$dir/summary.md"
echo "plot: $dir/swarm.png"
