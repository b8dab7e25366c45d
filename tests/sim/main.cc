// swarm_sim: runs the scenarios of tests/sim/scenario.h for each N and seed
// value, appends one JSON line per run to --out and prints a table. See
// doc/simulation.md.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/chunk_layout.h"
#include "common/exit_codes.h"
#include "tests/sim/scenario.h"

namespace {

using lanswarm::sim::ScenarioParams;

nlohmann::json Line(const ScenarioParams& p, const lanswarm::sim::RunSummary& s,
                    const lanswarm::sim::WorldResult& r, double wall_s) {
  std::string first_error;
  for (const auto& g : r.getters) {
    if (!g.error.empty()) {
      first_error = g.error;
      break;
    }
  }
  return {{"n", p.n},
          {"scenario", p.name},
          {"seed", p.seed},
          {"chunks", p.chunks},
          {"chunk_size", p.chunk_size},
          {"rate_bits", p.rate_bits},
          {"download_peers", p.download_peers},
          {"goodput", p.goodput},
          {"grant_slots", p.grant_slots},
          {"turn_chunks", p.turn_chunks},
          {"turn_depth", p.turn_depth},
          {"socket_kib", p.socket_kib},
          {"max_incoming", p.max_incoming},
          {"t_min_s", s.t_min_s},
          {"makespan_s", s.makespan_s},
          {"p50_s", s.p50_s},
          {"p99_s", s.p99_s},
          {"ratio", s.ratio},
          {"p99_ratio", s.p99_ratio},
          {"worst_own_ratio", s.worst_own_ratio},
          {"p99_own_ratio", s.p99_own_ratio},
          {"completed", s.completed},
          {"killed", s.killed},
          {"failed", s.failed},
          {"hit_limit", r.hit_limit},
          {"seed_upload_bytes", s.seed_upload_bytes},
          {"events", r.events},
          {"rejects_missing", r.rejects[4]},
          {"rejects_busy", r.rejects[5]},
          {"rejects_elsewhere", r.rejects[7]},
          {"duplicates", r.duplicates},
          {"first_error", first_error},
          {"wall_s", wall_s}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"swarm_sim: the peer's download policy on a modelled LAN of 1 to 10,000 getters (doc/simulation.md)"};
  std::vector<std::string> scenarios{"equal"};
  std::vector<std::uint32_t> ns{8};
  std::vector<std::uint64_t> seeds{1};
  ScenarioParams base;
  double rate_mbit = 100, latency_ms = 1;
  std::uint32_t chunk_kib = 256;
  std::string out;
  app.add_option("--scenario", scenarios, "scenarios to run")
      ->check(CLI::IsMember(lanswarm::sim::ScenarioNames()))
      ->delimiter(',');
  app.add_option("--n", ns, "numbers of getters")->check(CLI::Range(1u, 100000u))->delimiter(',');
  app.add_option("--seed", seeds, "seed values (one run each)")->delimiter(',');
  app.add_option("--rate-mbit", rate_mbit, "every link's rate, Mbit/s")->check(CLI::PositiveNumber);
  app.add_option("--chunks", base.chunks, "chunks in the file")->check(CLI::Range(1u, 1u << 20));
  app.add_option("--chunk-kib", chunk_kib, "chunk size, KiB")->check(CLI::Range(256u, 16384u));
  app.add_option("--latency-ms", latency_ms, "one-way latency of every message")->check(CLI::NonNegativeNumber);
  app.add_option("--download-peers", base.download_peers, "the peer's download_peers")->check(CLI::Range(1u, 1000u));
  app.add_option("--grant-slots", base.grant_slots,
                 "the daemon's upload_slots: getters a holder sends to at once (0: every request at once, the old rule)");
  app.add_option("--turn-chunks", base.turn_chunks,
                 "chunks a holder grants a connection per turn (UploadOptions::turn_chunks)")
      ->check(CLI::Range(1u, 1000u));
  app.add_option("--turn-depth", base.turn_depth,
                 "grants a connection holds at once in its turn (UploadOptions::depth)")
      ->check(CLI::Range(1u, 64u));
  app.add_option("--socket-kib", base.socket_kib,
                 "KiB of a chunk a holder's kernel takes before they leave (its socket buffer)")
      ->check(CLI::Range(0u, 16384u));
  app.add_option("--max-incoming", base.max_incoming, "a getter's chunks from granting holders at once");
  app.add_option("--goodput", base.goodput, "the share of a link's rate TCP carries (1448/1514)")
      ->check(CLI::Range(0.1, 1.0));
  app.add_option("--out", out, "append one JSON line per run to this file");
  CLI11_PARSE(app, argc, argv);
  if (!lanswarm::IsValidChunkSize(std::uint64_t{chunk_kib} * 1024)) {
    std::fprintf(stderr, "swarm_sim: --chunk-kib must be a power of two from 256 to 16384\n");
    return lanswarm::kExitUsage;
  }

  spdlog::set_level(spdlog::level::off);
  base.rate_bits = rate_mbit * 1e6;
  base.chunk_size = static_cast<std::uint64_t>(chunk_kib) * 1024;
  base.one_way = static_cast<lanswarm::sim::Nanos>(latency_ms * 1e6);
  std::ofstream jsonl;
  if (!out.empty()) {
    jsonl.open(out, std::ios::app);
    if (!jsonl) {
      std::fprintf(stderr, "swarm_sim: cannot open %s for appending\n", out.c_str());
      return lanswarm::kExitUsage;
    }
  }
  std::printf("%-13s %6s %5s %9s %9s %9s %9s %7s %7s %8s %6s %8s\n", "scenario", "n", "seed", "t_min_s", "makespan",
              "p50_s", "p99_s", "ratio", "p99", "own_max", "done", "wall_s");
  for (const std::string& name : scenarios) {
    for (std::uint32_t n : ns) {
      for (std::uint64_t seed : seeds) {
        ScenarioParams p = base;
        p.name = name;
        p.n = n;
        p.seed = seed;
        auto config = lanswarm::sim::BuildScenario(p);
        if (!config.ok()) {
          std::fprintf(stderr, "swarm_sim: %s\n", config.status().message().c_str());
          return lanswarm::kExitUsage;
        }
        const auto t0 = std::chrono::steady_clock::now();
        lanswarm::sim::SwarmWorld world(*config);
        const lanswarm::sim::WorldResult r = world.Run();
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const lanswarm::sim::RunSummary s = lanswarm::sim::Summarize(*config, r);
        std::printf("%-13s %6u %5llu %9.2f %9.2f %9.2f %9.2f %7.3f %7.3f %8.3f %6u %8.1f\n", name.c_str(), n,
                    static_cast<unsigned long long>(seed), s.t_min_s, s.makespan_s, s.p50_s, s.p99_s, s.ratio,
                    s.p99_ratio, s.worst_own_ratio, s.completed, wall);
        std::fflush(stdout);
        if (jsonl) jsonl << Line(p, s, r, wall).dump() << '\n' << std::flush;
      }
    }
  }
  return 0;
}
