#include <catch2/catch.hpp>

#include "common/log.h"

namespace lanswarm {

TEST_CASE("SetupLogging: accepts spdlog's level names", "[log]") {
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    INFO(level);
    CHECK(IsLogLevel(level));
    CHECK(SetupLogging("test", level).ok());
  }
  // Set up twice in a row: the second replaces the first instead of failing.
  CHECK(SetupLogging("test", "warn").ok());
}

TEST_CASE("SetupLogging: an unknown level is an error that lists the valid ones", "[log]") {
  Status s = SetupLogging("test", "loud");
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("'loud'") != std::string::npos);
  CHECK(s.message().find("debug") != std::string::npos);
  CHECK_FALSE(IsLogLevel("INFO"));
}

}  // namespace lanswarm
