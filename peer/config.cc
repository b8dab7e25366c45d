#include "peer/config.h"

#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

#include "common/log.h"
#include "common/toml_doc.h"
#include "common/units.h"

namespace lanswarm::peer {

namespace {
constexpr std::size_t kMaxConfigBytes = 1 << 20;
}

std::string DefaultStateDir() {
  if (::geteuid() == 0) return "/var/lib/lanswarm";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg == '/') {
    return std::string(xdg) + "/lanswarm";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr && *home ? home : "/tmp") + "/.local/state/lanswarm";
}

Result<Config> LoadConfig(const std::string& path) {
  auto doc_or = TomlDoc::Load(path, kMaxConfigBytes);
  if (!doc_or.ok()) return doc_or.status();
  TomlDoc& doc = *doc_or;
  Config c;
  LANSWARM_RETURN_IF_ERROR(doc.SetIfPresent("coordinator", &c.coordinator));
  LANSWARM_RETURN_IF_ERROR(doc.SetIfPresent("listen", &c.listen));
  LANSWARM_RETURN_IF_ERROR(doc.SetIfPresent("state_dir", &c.state_dir));
  LANSWARM_RETURN_IF_ERROR(doc.SetIfPresent("log_level", &c.log_level));
  LANSWARM_RETURN_IF_ERROR(doc.SetIfPresent("report_interval", 1, 3600, &c.report_interval));

  // upload_rate: bytes per second as a number, or a size string ("100M").
  auto rate_text = doc.GetString("upload_rate");
  if (rate_text.ok()) {
    if (rate_text->has_value()) {
      auto r = ParseSize(**rate_text);
      if (!r.ok()) return doc.KeyError("upload_rate", 0, r.status().message());
      c.upload_rate = *r;
    }
  } else {
    auto rate = doc.GetInt("upload_rate", 0, INT64_MAX);
    if (!rate.ok()) return rate.status();
    if (rate->has_value()) c.upload_rate = static_cast<std::uint64_t>(**rate);
  }

  Config::Limits& l = c.limits;
  LANSWARM_RETURN_IF_ERROR(doc.SetIfPresent("limits.max_connections", 1, 100000, &l.max_connections));
  LANSWARM_RETURN_IF_ERROR(
      doc.SetIfPresent("limits.max_connections_per_address", 1, 100000, &l.max_connections_per_address));
  LANSWARM_RETURN_IF_ERROR(doc.SetIfPresent("limits.max_unauthenticated", 1, 100000, &l.max_unauthenticated));
  LANSWARM_RETURN_IF_ERROR(
      doc.SetIfPresent("limits.max_requests_per_connection", 1, 1024, &l.max_requests_per_connection));
  LANSWARM_RETURN_IF_ERROR(doc.SetIfPresent("limits.max_message_bytes", 1024, 1 << 20, &l.max_message_bytes));
  LANSWARM_RETURN_IF_ERROR(doc.SetIfPresent("limits.hello_timeout", 1, 600, &l.hello_timeout));
  LANSWARM_RETURN_IF_ERROR(doc.SetIfPresent("limits.idle_timeout", 10, 86400, &l.idle_timeout));
  LANSWARM_RETURN_IF_ERROR(doc.SetIfPresent("download_peers", 1, 1000, &c.download_peers));
  LANSWARM_RETURN_IF_ERROR(doc.SetIfPresent("upload_slots", 0, 64, &c.upload_slots));
  LANSWARM_RETURN_IF_ERROR(doc.SetIfPresent("ban_after_bad_chunks", 1, 1000, &c.ban_after_bad_chunks));
  LANSWARM_RETURN_IF_ERROR(doc.SetIfPresent("ban_after_stalls", 1, 1000, &c.ban_after_stalls));
  LANSWARM_RETURN_IF_ERROR(doc.SetIfPresent("ban_cooldown", 1, 7 * 86400, &c.ban_cooldown));
  LANSWARM_RETURN_IF_ERROR(doc.SetIfPresent("simulated_latency_ms", 0, 10000, &c.simulated_latency));

  auto n = doc.ArrayLength("shared");
  if (n.ok()) {
    LANSWARM_RETURN_IF_ERROR(doc.ForEachString("shared", [&](std::size_t, std::string_view v, int) {
      c.shared.emplace_back(v);
      return Status::Ok();
    }));
  } else if (n.status().message().find("missing") == std::string::npos) {
    return n.status();
  }
  LANSWARM_RETURN_IF_ERROR(auth::LoadAuthConfig(doc, &c.auth));
  LANSWARM_RETURN_IF_ERROR(doc.CheckNoUnknownKeys());
  if (Status s = ValidateConfig(c); !s.ok()) return s.Prefixed(path);
  return c;
}

Status ValidateConfig(const Config& c) {
  if (!IsLogLevel(c.log_level)) {
    return Status::InvalidArgument(fmt::format(
        "log_level '{}' is not one of trace, debug, info, warn, error, critical, off", c.log_level));
  }
  if (!c.state_dir.empty() && c.state_dir.front() != '/') {
    return Status::InvalidArgument(fmt::format("state_dir '{}' must be an absolute path", c.state_dir));
  }
  return Status::Ok();
}

}  // namespace lanswarm::peer
