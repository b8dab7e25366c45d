# shellcheck shell=bash
# The links of a swarm benchmark's scenario: who gets which rate, and the
# bound no system can beat on them. Sourced by tests/lan/bench_swarm.sh
# after lan.sh. Rates are in kbit/s (tc's kbit: 1000 bit/s).
#
#   host 1: coordinator / tracker   host 2: the seed   hosts 3..N+2: getters
#
#   links_setup SCENARIO N RATE  fills LINK_UP[h], LINK_DOWN[h] and LINK_DESC
#   links_apply                  shapes every host of the testbed that way
#   links_bound BYTES            "T_min F/u_s F/d_min" in seconds
#   links_slow HOST              true if HOST downloads slower than the fastest getter
#   links_broadcast_rate         min(u_s, d_min): what one stream to all can run at
#
# Scenarios, for a base RATE r (getter i is host i+2):
#   equal          every link r both ways
#   fast-seed      the seed 4r both ways
#   slow-seed      the seed r/4 both ways
#   weak-uplinks   every second getter (2nd, 4th, ...) uploads at r/4; all download at r
#   slow-getters   every fourth getter (4th, 8th, ...) at r/4 both ways
# Host 1 carries only the coordinator's or tracker's small messages: r.

BENCH_SCENARIOS_ALL="equal fast-seed slow-seed weak-uplinks slow-getters"
declare -a LINK_UP=() LINK_DOWN=()
LINK_DESC=""

# kbit/s as people read it: 100 Mbit/s, 37.5 Mbit/s, 800 kbit/s.
links_fmt() {
  awk -v k="$1" 'BEGIN { if (k >= 1000) printf "%g Mbit/s", k / 1000; else printf "%g kbit/s", k }'
}

links_setup() {
  local scenario=$1 n=$2 r=$3 h i quarter=$(($3 / 4))
  LINK_UP=() LINK_DOWN=()
  for ((h = 1; h <= n + 2; h++)); do LINK_UP[h]=$r LINK_DOWN[h]=$r; done
  case $scenario in
    equal)
      LINK_DESC="every link $(links_fmt "$r")" ;;
    fast-seed)
      LINK_UP[2]=$((4 * r)) LINK_DOWN[2]=$((4 * r))
      LINK_DESC="seed $(links_fmt $((4 * r))), getters $(links_fmt "$r")" ;;
    slow-seed)
      LINK_UP[2]=$quarter LINK_DOWN[2]=$quarter
      LINK_DESC="seed $(links_fmt "$quarter"), getters $(links_fmt "$r")" ;;
    weak-uplinks)
      for ((i = 2; i <= n; i += 2)); do LINK_UP[i + 2]=$quarter; done
      LINK_DESC="$((n / 2)) getters upload at $(links_fmt "$quarter"), the rest of the links $(links_fmt "$r")" ;;
    slow-getters)
      ((n >= 4)) || lan_die "slow-getters needs N >= 4, not $n"
      for ((i = 4; i <= n; i += 4)); do LINK_UP[i + 2]=$quarter LINK_DOWN[i + 2]=$quarter; done
      LINK_DESC="$((n / 4)) getter$( ((n >= 8)) && echo s) at $(links_fmt "$quarter") both ways, the rest $(links_fmt "$r")" ;;
    *) lan_die "unknown scenario '$scenario' (one of: $BENCH_SCENARIOS_ALL)" ;;
  esac
}

# Every host still at the base rate that lan_up gave it keeps its qdiscs.
links_apply() {
  local h base=${LINK_UP[1]}
  for h in "${!LINK_UP[@]}"; do
    [ "${LINK_UP[h]}" = "$base" ] && [ "${LINK_DOWN[h]}" = "$base" ] && continue
    lan_rate "$h" "${LINK_UP[h]}kbit" "${LINK_DOWN[h]}kbit"
  done
}

# Kumar-Ross: T_min = max(F/u_s, F/d_min, N*F/(u_s + sum of the getters' u_i)).
links_bound() {
  local bytes=$1 h ups="" downs=""
  for h in "${!LINK_UP[@]}"; do
    ((h >= 3)) || continue
    ups+=" ${LINK_UP[h]}" downs+=" ${LINK_DOWN[h]}"
  done
  awk -v f="$bytes" -v us="${LINK_UP[2]}" -v ups="$ups" -v downs="$downs" 'BEGIN {
    bits = f * 8; n = split(ups, u, " "); split(downs, d, " ")
    sum = us; dmin = d[1]
    for (i = 1; i <= n; i++) { sum += u[i]; if (d[i] < dmin) dmin = d[i] }
    a = bits / (us * 1e3); b = bits / (dmin * 1e3); c = n * bits / (sum * 1e3)
    t = a; if (b > t) t = b; if (c > t) t = c
    printf "%.3f %.3f %.3f\n", t, a, b }'
}

links_slow() {
  local h fastest=0
  for h in "${!LINK_DOWN[@]}"; do ((h >= 3 && LINK_DOWN[h] > fastest)) && fastest=${LINK_DOWN[h]}; done
  ((LINK_DOWN[$1] < fastest))
}

# The slowest rate anything sent from the seed to every getter can have:
# min(u_s, d_min), in kbit/s (for the multicast sender's rate).
links_broadcast_rate() {
  local h r=${LINK_UP[2]}
  for h in "${!LINK_DOWN[@]}"; do ((h >= 3 && LINK_DOWN[h] < r)) && r=${LINK_DOWN[h]}; done
  echo "$r"
}
