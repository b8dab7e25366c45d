#include "tests/sim/scenario.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <fmt/format.h>

namespace lanswarm::sim {

namespace {
constexpr Nanos kSecond = 1'000'000'000;

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto at = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  return v[std::min(at, v.size() - 1)];
}

// A share of the getters, at least one, chosen by the seed.
std::vector<std::uint32_t> Pick(std::uint32_t n, double share, std::mt19937_64& rng) {
  std::vector<std::uint32_t> all(n);
  for (std::uint32_t i = 0; i < n; ++i) all[i] = i;
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(std::max<std::uint32_t>(1, static_cast<std::uint32_t>(std::lround(share * n))));
  return all;
}

// The Kumar–Ross terms for one getter of download `down`.
double OwnBound(const WorldConfig& c, double down) {
  // At the nominal rates: the capacities are scaled by the goodput.
  const double f = static_cast<double>(c.file_size) * c.goodput;
  double seeds_up = 0, all_up = 0;
  for (const HostSpec& s : c.seeds) seeds_up += s.up;
  all_up = seeds_up;
  std::size_t present = 0;
  for (const HostSpec& g : c.getters) {
    if (g.start == 0) {
      all_up += g.up;
      ++present;
    }
  }
  return std::max({f / seeds_up, f / down, static_cast<double>(present) * f / all_up});
}
}  // namespace

const std::vector<std::string>& ScenarioNames() {
  static const std::vector<std::string> names = {"equal",        "fast-seed", "slow-seed", "weak-uplinks",
                                                 "slow-getters", "churn",     "seed-leaves"};
  return names;
}

Result<WorldConfig> BuildScenario(const ScenarioParams& p) {
  if (p.n == 0) return Status::InvalidArgument("n must be at least 1");
  if (std::find(ScenarioNames().begin(), ScenarioNames().end(), p.name) == ScenarioNames().end()) {
    return Status::InvalidArgument(fmt::format("unknown scenario '{}'", p.name));
  }
  const double u = p.rate_bits / 8 * p.goodput;
  WorldConfig c;
  c.goodput = p.goodput;
  c.chunk_size = p.chunk_size;
  c.file_size = static_cast<std::uint64_t>(p.chunks) * p.chunk_size;
  c.one_way = p.one_way;
  c.download_peers = p.download_peers;
  c.grants = p.grant_slots > 0;
  c.grant_slots = p.grant_slots;
  c.turn_chunks = p.turn_chunks;
  c.turn_depth = p.turn_depth;
  c.socket_buffer = p.socket_kib * 1024;
  c.max_incoming = p.max_incoming;
  c.seed = p.seed;
  HostSpec seed{.up = u, .down = u};
  if (p.name == "fast-seed") seed.up = seed.down = 4 * u;
  if (p.name == "slow-seed") seed.up = seed.down = u / 4;
  c.seeds.push_back(seed);
  c.getters.assign(p.n, HostSpec{.up = u, .down = u});
  std::mt19937_64 rng(p.seed ^ 0x5eed5eedULL);
  if (p.name == "weak-uplinks") {
    for (std::uint32_t i : Pick(p.n, 0.5, rng)) c.getters[i].up = u / 4;
  } else if (p.name == "slow-getters") {
    // 2 of 8 on the testbed; 5% of a large swarm.
    for (std::uint32_t i : Pick(p.n, p.n <= 16 ? 0.25 : 0.05, rng)) c.getters[i].up = c.getters[i].down = u / 4;
  } else if (p.name == "churn") {
    // 5% slow getters; 10% killed at a random time within the transfer;
    // 5% join half-way.
    const double t = static_cast<double>(c.file_size) / u;
    for (std::uint32_t i : Pick(p.n, 0.05, rng)) c.getters[i].up = c.getters[i].down = u / 4;
    std::uniform_real_distribution<double> when(0.2, 0.8);
    for (std::uint32_t i : Pick(p.n, 0.10, rng)) c.getters[i].kill = static_cast<Nanos>(when(rng) * t * kSecond);
    for (std::uint32_t i : Pick(p.n, 0.05, rng)) {
      if (c.getters[i].kill < 0) c.getters[i].start = static_cast<Nanos>(0.5 * t * kSecond);
    }
  } else if (p.name == "seed-leaves") {
    c.seed_leaves_after_one_copy = true;
  }
  return c;
}

RunSummary Summarize(const WorldConfig& c, const WorldResult& r) {
  RunSummary s;
  s.seed_upload_bytes = r.seed_upload_bytes;
  std::vector<double> times, own;
  for (std::size_t i = 0; i < r.getters.size(); ++i) {
    const GetterOutcome& g = r.getters[i];
    const double bound = OwnBound(c, c.getters[i].down);
    if (c.getters[i].start == 0) s.t_min_s = std::max(s.t_min_s, bound);
    if (g.killed) {
      ++s.killed;
      continue;
    }
    if (g.done < 0) {
      ++s.failed;
      continue;
    }
    ++s.completed;
    const double t = static_cast<double>(g.done - g.start) / kSecond;
    times.push_back(t);
    own.push_back(t / bound);
  }
  if (times.empty()) return s;
  s.makespan_s = *std::max_element(times.begin(), times.end());
  s.p50_s = Percentile(times, 0.50);
  s.p99_s = Percentile(times, 0.99);
  s.ratio = s.makespan_s / s.t_min_s;
  s.p99_ratio = s.p99_s / s.t_min_s;
  s.worst_own_ratio = *std::max_element(own.begin(), own.end());
  s.p99_own_ratio = Percentile(own, 0.99);
  return s;
}

}  // namespace lanswarm::sim
