#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

namespace lanswarm {

namespace {

bool ParseLevel(std::string_view name, spdlog::level::level_enum* out) {
  static constexpr std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},   {"critical", spdlog::level::critical},
      {"off", spdlog::level::off},
  };
  for (const auto& [n, lvl] : kLevels) {
    if (n == name) {
      *out = lvl;
      return true;
    }
  }
  return false;
}

}  // namespace

bool IsLogLevel(std::string_view level) {
  spdlog::level::level_enum ignored;
  return ParseLevel(level, &ignored);
}

Status SetupLogging(std::string_view program, std::string_view level) {
  spdlog::level::level_enum lvl;
  if (!ParseLevel(level, &lvl)) {
    return Status::InvalidArgument("unknown log level '" + std::string(level) +
                                   "' (use trace, debug, info, warn, error, critical or off)");
  }
  // Not registered by name, so a second call replaces the first instead of throwing.
  auto logger = std::make_shared<spdlog::logger>(
      std::string(program), std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_level(lvl);
  // Millisecond timestamps: chunk transfers on a LAN take milliseconds.
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %n %^%l%$: %v");
  spdlog::set_default_logger(std::move(logger));
  return Status::Ok();
}

}  // namespace lanswarm
