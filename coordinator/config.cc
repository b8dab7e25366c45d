#include "coordinator/config.h"

#include <fmt/format.h>

#include "common/log.h"
#include "common/proto/codec.h"
#include "common/proto/messages.h"
#include "common/toml_doc.h"

namespace lanswarm::coordinator {

namespace {

// Config files are small; anything larger is a mistake.
constexpr std::size_t kMaxConfigBytes = 1 << 20;

}  // namespace

Result<Config> LoadConfig(const std::string& path) {
  auto doc = TomlDoc::Load(path, kMaxConfigBytes);
  if (!doc.ok()) return doc.status();
  Config c;
  TomlDoc& d = *doc;
  LANSWARM_RETURN_IF_ERROR(d.SetIfPresent("listen", &c.listen));
  LANSWARM_RETURN_IF_ERROR(d.SetIfPresent("report_interval", 1, 3600, &c.report_interval));
  LANSWARM_RETURN_IF_ERROR(d.SetIfPresent("expiry_multiple", 2, 100, &c.expiry_multiple));
  LANSWARM_RETURN_IF_ERROR(d.SetIfPresent("log_level", &c.log_level));
  LANSWARM_RETURN_IF_ERROR(d.SetIfPresent("allow_advertised_addresses", &c.advertise.allow_other_addresses));
  LANSWARM_RETURN_IF_ERROR(auth::LoadAuthConfig(d, &c.auth));
  LANSWARM_RETURN_IF_ERROR(d.SetIfPresent("limits.max_holders_per_answer", 1, 1000, &c.table.max_holders_per_answer));
  LANSWARM_RETURN_IF_ERROR(d.SetIfPresent("limits.max_peers", 1, 10000000, &c.table.max_peers));
  LANSWARM_RETURN_IF_ERROR(d.SetIfPresent("limits.max_files_per_report", 1, 240000, &c.table.max_files_per_report));
  LANSWARM_RETURN_IF_ERROR(d.SetIfPresent("limits.max_entries", 1, 1000000000, &c.table.max_entries));
  LANSWARM_RETURN_IF_ERROR(
      d.SetIfPresent("limits.max_peers_per_address", 1, 10000000, &c.table.max_peers_per_address));
  LANSWARM_RETURN_IF_ERROR(
      d.SetIfPresent("limits.max_entries_per_address", 1, 1000000000, &c.table.max_entries_per_address));
  LANSWARM_RETURN_IF_ERROR(d.SetIfPresent("limits.max_connections", 1, 1000000, &c.max_connections));
  LANSWARM_RETURN_IF_ERROR(d.SetIfPresent("limits.max_connections_per_address", 1, 1000000,
                                  &c.max_connections_per_address));
  LANSWARM_RETURN_IF_ERROR(d.SetIfPresent("limits.max_unauthenticated_connections", 1, 1000000,
                                  &c.max_unauthenticated_connections));
  LANSWARM_RETURN_IF_ERROR(d.SetIfPresent("limits.max_message_bytes", 1024, proto::kMaxFramePayload,
                                  &c.max_message_bytes));
  LANSWARM_RETURN_IF_ERROR(d.SetIfPresent("limits.hello_timeout", 1, 600, &c.hello_timeout));
  LANSWARM_RETURN_IF_ERROR(d.CheckNoUnknownKeys());
  if (Status s = ValidateConfig(c); !s.ok()) return s.Prefixed(path);
  return c;
}

Status ValidateConfig(const Config& c) {
  if (!IsLogLevel(c.log_level)) {
    return Status::InvalidArgument(fmt::format("log_level '{}' is not one of trace, debug, info, warn, error, "
                                               "critical, off", c.log_level));
  }
  // A peer with max_files_per_report files must be able to report them all.
  const std::uint64_t report_bytes = proto::ReportPayloadBytes(c.table.max_files_per_report);
  if (report_bytes > c.max_message_bytes) {
    return Status::InvalidArgument(fmt::format(
        "limits.max_files_per_report = {} needs messages of {} bytes, but limits.max_message_bytes is {}",
        c.table.max_files_per_report, report_bytes, c.max_message_bytes));
  }
  return Status::Ok();
}

}  // namespace lanswarm::coordinator
