// Logging for every lanswarm program: spdlog, to stderr, one line per event.
// Call SetupLogging once at start-up; then use spdlog::info(...) and friends.
#pragma once

#include <string_view>

#include "common/status.h"

namespace lanswarm {

// Accepts trace, debug, info, warn, error, critical, off (case-sensitive,
// spdlog's names). `program` prefixes every line so interleaved logs of
// several daemons stay readable.
Status SetupLogging(std::string_view program, std::string_view level);

// True when `level` is one of the names SetupLogging accepts.
bool IsLogLevel(std::string_view level);

}  // namespace lanswarm
