#include "peer/get_progress.h"

#include <fmt/format.h>

#include "common/units.h"

namespace lanswarm::peer {

std::string FormatGetProgress(const nlohmann::json& p) {
  const auto size = p.value("size", std::uint64_t{0});
  const auto done = p.value("bytes_verified", std::uint64_t{0});
  const double pct = size == 0 ? 100.0 : 100.0 * static_cast<double>(done) / static_cast<double>(size);
  std::string line = fmt::format("{}  {:.1f}%  {}/{}", p.value("name", "?"), pct, FormatBytes(done), FormatBytes(size));
  const auto peers = p.value("peers_active", std::uint64_t{0});
  if (p.value("state", "") == "waiting" || (peers == 0 && p.value("state", "") != "done")) {
    const std::string why = p.value("coordinator_error", "");
    return line + (why.empty() ? "  waiting for holders..." : "  waiting for the coordinator...");
  }
  const auto rate = p.value("rate_bytes_per_second", std::uint64_t{0});
  const double eta = p.value("eta_seconds", -1.0);
  line += fmt::format("  {}/s  ETA {}  {} peer{}", FormatBytes(rate), eta < 0 ? "?" : FormatSeconds(eta), peers,
                      peers == 1 ? "" : "s");
  if (const auto bad = p.value("checksum_failures", std::uint64_t{0}); bad > 0) line += fmt::format("  {} bad", bad);
  return line;
}

std::string FormatGetSummary(const nlohmann::json& p) {
  if (p.value("state", "") != "done") return "";
  const auto size = p.value("size", std::uint64_t{0});
  const double secs = p.value("elapsed_seconds", 0.0);
  const auto resumed = p.value("resumed_chunks", std::uint64_t{0});
  const std::string took = secs < 60 ? fmt::format("{:.1f}s", secs) : FormatSeconds(secs);
  std::string s = fmt::format("got {}: {} in {}", p.value("name", "?"), FormatBytes(size), took);
  // The rate of what came over the network this time, not of what was already here.
  const auto received = p.value("bytes_received", std::uint64_t{0});
  if (secs > 0 && received > 0) s += fmt::format(" ({}/s)", FormatBytes(static_cast<std::uint64_t>(static_cast<double>(received) / secs)));
  if (resumed > 0) s += fmt::format(", {} chunks were already here", resumed);
  s += ", every chunk verified -> " + p.value("out", "?");
  return s;
}

}  // namespace lanswarm::peer
