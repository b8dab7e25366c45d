// The simulator's scenarios (doc/simulation.md): how the hosts of a run are
// built from a name, N and a seed value, the bound each getter is measured
// against, and the summary of one run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "tests/sim/swarm_world.h"

namespace lanswarm::sim {

struct ScenarioParams {
  std::string name = "equal";
  std::uint32_t n = 8;              // getters
  std::uint64_t seed = 1;
  double rate_bits = 100e6;         // every link's nominal rate, both ways
  std::uint32_t chunks = 400;       // the file is chunks x chunk_size
  std::uint64_t chunk_size = 256 * 1024;
  Nanos one_way = 1'000'000;
  std::uint32_t download_peers = 32;
  // The daemon's upload_slots: holders send to this many getters at once;
  // 0, the rule before grants: every request at once. Turns as
  // UploadOptions; socket_kib as WorldConfig::socket_buffer.
  std::uint32_t grant_slots = 2;
  std::uint32_t turn_chunks = peer::UploadOptions{}.turn_chunks;
  std::uint32_t turn_depth = peer::UploadOptions{}.depth;
  std::uint32_t socket_kib = 128;
  std::uint32_t max_incoming = 2;  // DownloadOptions::max_incoming
  // What TCP/IPv4 over Ethernet carries of a link's rate: a 1448-byte
  // segment payload (MSS with timestamps) per 1514-byte frame. Capacities
  // are the rate times this; t_min stays at the nominal rate, as the
  // testbed's "÷ T_min (tbf rate)" column does (its floor is 1/0.956 = 1.046).
  double goodput = 1448.0 / 1514.0;
};

// The scenario names, in the order `make sim` runs them.
const std::vector<std::string>& ScenarioNames();

// REQUIRES: nothing; returns InvalidArgument for an unknown name or n == 0.
Result<WorldConfig> BuildScenario(const ScenarioParams& p);

struct RunSummary {
  double t_min_s = 0;        // Kumar–Ross over the hosts present at the start
  double makespan_s = 0;     // the last getter that completed (killed ones excluded)
  double p50_s = 0, p99_s = 0;
  double ratio = 0, p99_ratio = 0;  // makespan / t_min, p99 / t_min
  // Per getter, its completion over its own bound max(F/u_s, F/d_i,
  // N F / (u_s + sum u)): the slow getters' measure, and the fast ones'.
  double worst_own_ratio = 0, p99_own_ratio = 0;
  std::uint32_t completed = 0, killed = 0, failed = 0;
  double seed_upload_bytes = 0;
};

RunSummary Summarize(const WorldConfig& config, const WorldResult& result);

}  // namespace lanswarm::sim
