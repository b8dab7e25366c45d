#!/usr/bin/env bash
# Turns the files of tests/lan/bench_swarm.sh into summary.md (the tables
# for doc/benchmarks.md), swarm.png (completion times by rank, one panel per
# point) and, when the equal-links scenario ran at two N or more, curve.png
# (makespan / T_min against N).
#   bench_report.sh DIR
# DIR holds points.tsv, times.tsv, runs.tsv, hosts.tsv and meta (their
# columns: the first line of each; meaning: bench_measure.sh).
set -euo pipefail
dir=$1
for f in points times runs hosts; do
  [ -s "$dir/$f.tsv" ] || { echo "bench_report: no $f.tsv in $dir" >&2; exit 1; }
done
meta() { sed -n "s/^$1=//p" "$dir/meta" 2>/dev/null; }

# Systems in the order the tables show them, with the names people know.
order="lanswarm bittorrent chain udpcast http"
present=""
for s in $order; do awk -F'\t' -v s="$s" 'NR > 1 && $3 == s { f = 1 } END { exit !f }' "$dir/runs.tsv" && present+=" $s"; done
label() {
  case $1 in
    bittorrent) echo "libtorrent" ;;
    chain) echo "chain (socat \| tee \| socat)" ;;
    udpcast) echo "udpcast (multicast)" ;;
    http) echo "HTTP (nginx + curl)" ;;
    *) echo "$1" ;;
  esac
}
plot_label() { label "$1" | sed 's/\\|/|/g'; }

# overview FILTER: one row per point the awk FILTER (on points.tsv) keeps;
# cells makespan / T_min (CPU busy); the equal-links table in the issue's shape.
overview() {
  local filter=$1 header sep s
  if [ "$filter" = equal ]; then header="| N | rate/host | file | T_min |" sep="|---|---|---|---|"
  else header="| scenario | N | links | file | T_min |" sep="|---|---|---|---|---|"; fi
  for s in $present; do header+=" $(label "$s") |" sep+="---|"; done
  echo "$header"
  echo "$sep"
  awk -F'\t' -v filter="$filter" -v systems="$present" '
    FILENAME == ARGV[1] { if (FNR > 1 && $4 != "-") { k = $1 SUBSEP $2; r[k, $3] = $4; u[k, $3] = $5; c[k, $3] = $6 }; next }
    FNR == 1 { next }
    (filter == "equal") != ($1 != "equal") {
      k = $1 SUBSEP $2
      if (filter == "equal") row = sprintf("| %d | %g Mbit/s | %d MiB | %.2f s |", $2, $3 / 1000, $4, $6)
      else row = sprintf("| %s | %d | %s | %d MiB | %.2f s |", $1, $2, $12, $4, $6)
      n = split(systems, s, " ")
      for (i = 1; i <= n; i++) {
        if (!((k, s[i]) in r)) { row = row " - |"; continue }
        cell = sprintf(" %.3f (%.0f%%)", r[k, s[i]] / $6, c[k, s[i]] * 100)
        if (u[k, s[i]] > 0) cell = cell sprintf(", %d unfinished", u[k, s[i]])
        row = row cell " |"
      }
      print row
    }' "$dir/runs.tsv" "$dir/points.tsv"
}

has_equal=$(awk -F'\t' 'NR > 1 && $1 == "equal" { f = 1 } END { print f + 0 }' "$dir/points.tsv")
has_other=$(awk -F'\t' 'NR > 1 && $1 != "equal" { f = 1 } END { print f + 0 }' "$dir/points.tsv")

{
  echo "Plan \`$(meta plan)\`, started $(meta started), $(meta minutes) min; load average $(meta load_start) at the start, $(meta load_end) at the end."
  echo "Cells: makespan ÷ T_min (Kumar–Ross bound at the tbf rates), then the whole machine's CPU busy during the transfer (2 cores = 100%)."
  echo "Chunks and torrent pieces of $(meta chunk); libtorrent $([ "$(meta bt_utp)" = 1 ] && echo "with uTP and TCP (its default)" || echo "over TCP only")."
  echo
  if ((has_equal)); then overview equal; echo; fi
  if ((has_other)); then overview other; echo; fi

  echo "Every run: first / median / last getter, straggler = last ÷ median, CPU split from /proc/stat:"
  echo
  echo "| scenario | N | system | makespan | ÷ T_min | ÷ T_min (iperf3) | first | median | last ÷ median | CPU busy | user | system | softirq | busy before | unfinished |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  awk -F'\t' '
    FILENAME == ARGV[1] { if (FNR > 1) { k = $1 SUBSEP $2; t[k] = $6; e[k] = $10 }; next }
    FNR == 1 { next }
    {
      k = $1 SUBSEP $2; name = $3 == "bittorrent" ? "libtorrent" : $3
      cpu = sprintf("%.0f%% | %.0f%% | %.0f%% | %.0f%% | %.0f%%", $6 * 100, $7 * 100, $8 * 100, $9 * 100, $16 * 100)
      if ($4 == "-") { printf "| %s | %d | %s | - | - | - | - | - | - | %s | %d |\n", $1, $2, name, cpu, $5; next }
      iperf = $1 == "equal" ? sprintf("%.3f", $4 / (t[k] / e[k])) : "-"
      printf "| %s | %d | %s | %.2f s | %.3f | %s | %.2f s | %.2f s | %.3f | %s | %d |\n",
        $1, $2, name, $4, $4 / t[k], iperf, $10, $11, $12 / $11, cpu, $5
    }' "$dir/points.tsv" "$dir/runs.tsv"
  echo
  echo "÷ T_min (iperf3), on equal links only: the bound at the rate the slowest link of an iperf3 ring carried"
  echo "(TCP over tbf) instead of the tbf rate. Where links differ the ring's slowest link is one that carries"
  echo "both ways at a quarter rate, which no system's traffic here does: no such number is given."
  echo "udpcast's copies are made by the bridge, which the bound (what hosts can upload) does not count: where"
  echo "the getters' uplinks are the limit (weak-uplinks) multicast can finish below T_min."
  echo "Busy before: the machine's CPU busy in the second before the release, with everything started and waiting,"
  echo "i.e. what else runs on the machine (other work shares it); the transfer's own share is about the difference."
  echo

  if awk -F'\t' 'NR > 1 && $14 != "-" { f = 1 } END { exit !f }' "$dir/runs.tsv"; then
    echo "Getters on fast and on slow links (fast: the last getter at the fastest download rate ÷ F/u_s; slow: the last slow one ÷ F/d_slow):"
    echo
    echo "| scenario | N | system | fast getters' last | ÷ F/u_s | slow getters' last | ÷ F/d_slow |"
    echo "|---|---|---|---|---|---|---|"
    awk -F'\t' '
      FILENAME == ARGV[1] { if (FNR > 1) { k = $1 SUBSEP $2; us[k] = $7; ds[k] = $8 }; next }
      FNR == 1 || $14 == "-" { next }
      { k = $1 SUBSEP $2; name = $3 == "bittorrent" ? "libtorrent" : $3
        printf "| %s | %d | %s | %.2f s | %.3f | %.2f s | %.3f |\n", $1, $2, name, $13, $13 / us[k], $14, $14 / ds[k] }' \
      "$dir/points.tsv" "$dir/runs.tsv"
    echo
  fi

  echo "Per host: CPU of the processes still running at the end (daemons, seeds), in cores, over the transfer;"
  echo "TCP connections other than to host 1, sampled once at T_min/2 (\"-\": nothing of that system outlives its transfer):"
  echo
  echo "| scenario | N | system | getter user (mean) | getter system (mean) | getter user+system (max) | seed user | seed system | connections per getter (mean / max) | seed's connections |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  awk -F'\t' 'NR > 1 {
      k = $1 SUBSEP $2 SUBSEP $3
      if (!(k in seen)) { seen[k] = 1; keys[++nk] = k }
      if ($5 == "seed") { su[k] = $6; ss[k] = $7; sc[k] = $8; next }
      g[k]++; cs[k] += $8; if ($8 > cm[k]) cm[k] = $8
      if ($6 != "-") { m[k]++; u[k] += $6; y[k] += $7; if ($6 + $7 > mx[k]) mx[k] = $6 + $7 }
    }
    END {
      for (i = 1; i <= nk; i++) {
        k = keys[i]; split(k, p, SUBSEP); name = p[3] == "bittorrent" ? "libtorrent" : p[3]
        if (m[k]) cpu = sprintf("%.3f | %.3f | %.3f", u[k] / m[k], y[k] / m[k], mx[k]); else cpu = "- | - | -"
        printf "| %s | %d | %s | %s | %s | %s | %.1f / %d | %s |\n", p[1], p[2], name, cpu, su[k], ss[k], cs[k] / g[k], cm[k], sc[k]
      } }' "$dir/hosts.tsv"
  echo

  echo "Links: T_min = max(F/u_s, F/d_min, N·F/(u_s + Σu_i)); the iperf3 ring (each host sending to the next, 5 s) before the runs:"
  echo
  echo "| scenario | N | links | file | T_min | iperf3, slowest link | lowest goodput ÷ tbf rate | T_min at the iperf3 rates | load average |"
  echo "|---|---|---|---|---|---|---|---|---|"
  awk -F'\t' 'NR > 1 { printf "| %s | %d | %s | %d MiB | %.2f s | %.1f Mbit/s | %.3f | %s | %s |\n", $1, $2, $12, $4, $6, $9, $10,
    $1 == "equal" ? sprintf("%.2f s", $6 / $10) : "-", $11 }' "$dir/points.tsv"
  echo

  echo "Each getter's completion time, sorted (s):"
  echo
  awk -F'\t' 'NR > 1 { k = $5 " N=" $2 " " ($1 == "bittorrent" ? "libtorrent" : $1); t[k] = t[k] " " $4; if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
    END { for (i = 1; i <= n; i++) print order[i] ":" t[order[i]] }' "$dir/times.tsv" |
    while IFS=: read -r key times; do
      echo "- $key: $(tr ' ' '\n' <<<"$times" | grep . | sort -g | paste -sd ' ')"
    done
} >"$dir/summary.md"

# swarm.png: one panel per point, completion time by getter rank, T_min dashed.
points=$(awk -F'\t' 'NR > 1 { print $1 "/" $2 }' "$dir/points.tsv")
count=$(wc -w <<<"$points")
cols=$((count < 3 ? count : 3))
rows=$(((count + cols - 1) / cols))
plot=$dir/plot.gp
{
  echo "set terminal pngcairo noenhanced size $((cols * 420)),$((rows * 340)) font 'sans,9'"
  echo "set output '$dir/swarm.png'"
  echo "set datafile separator '\t'"
  echo "set grid"
  echo "set key bottom right opaque"
  echo "set xlabel 'getters done'"
  echo "set ylabel 'seconds since the release'"
  echo "set yrange [0:*]"
  echo "set multiplot layout $rows,$cols title 'One seed, N getters: completion time by rank (T_min dashed)'"
  for p in $points; do
    sc=${p%/*} n=${p#*/}
    tmin=$(awk -F'\t' -v s="$sc" -v n="$n" '$1 == s && $2 == n { print $6 }' "$dir/points.tsv")
    echo "set title '$sc, N = $n, T_min = $tmin s'"
    echo "set xrange [0:$((n + 1))]"
    line="plot $tmin with lines dt 2 lc rgb 'black' title 'T_min'"
    for s in $present; do
      awk -F'\t' -v s="$s" -v n="$n" -v sc="$sc" 'NR > 1 && $1 == s && $2 == n && $5 == sc { print $4 }' "$dir/times.tsv" |
        sort -g | awk '{ print NR "\t" $1 }' >"$dir/$s-$sc-$n.dat"
      [ -s "$dir/$s-$sc-$n.dat" ] && line+=", '$dir/$s-$sc-$n.dat' using 1:2 with linespoints pt 7 ps 0.5 title '$(plot_label "$s")'"
    done
    echo "$line"
  done
  echo "unset multiplot"
} >"$plot"
gnuplot "$plot"

# curve.png: makespan / T_min against N on equal links.
if (($(awk -F'\t' 'NR > 1 && $1 == "equal" { n++ } END { print n + 0 }' "$dir/points.tsv") >= 2)); then
  line=""
  for s in $present; do
    awk -F'\t' -v s="$s" 'FILENAME == ARGV[1] { if (FNR > 1 && $1 == "equal") t[$2] = $6; next }
      FNR > 1 && $1 == "equal" && $3 == s && $4 != "-" { print $2 "\t" $4 / t[$2] }' "$dir/points.tsv" "$dir/runs.tsv" |
      sort -n >"$dir/curve-$s.dat"
    [ -s "$dir/curve-$s.dat" ] && line+="${line:+, }'$dir/curve-$s.dat' using 1:2 with linespoints pt 7 title '$(plot_label "$s")'"
  done
  {
    echo "set terminal pngcairo noenhanced size 760,480 font 'sans,10'"
    echo "set output '$dir/curve.png'"
    echo "set datafile separator '\t'"
    echo "set logscale x 2"
    echo "set grid"
    echo "set key below"
    echo "set xlabel 'N getters (rate per host = budget / N)'"
    echo "set ylabel 'makespan / T_min'"
    echo "set yrange [0.9:*]"
    echo "set title 'Equal links at a fixed aggregate rate: makespan / T_min'"
    echo "plot 1 with lines dt 2 lc rgb 'black' title 'T_min', $line"
  } >"$dir/curve.gp"
  gnuplot "$dir/curve.gp"
fi
cat "$dir/summary.md"
echo "plots: $dir/swarm.png$([ -s "$dir/curve.png" ] && echo " $dir/curve.png")"
