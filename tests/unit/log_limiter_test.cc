// The budget for log lines an outsider can trigger.
#include <catch2/catch.hpp>

#include "common/log_limiter.h"

namespace lanswarm {

using namespace std::chrono_literals;

TEST_CASE("log limiter: at most N lines a second, the rest counted", "[log_limiter]") {
  FakeClock clock;
  LogLimiter limit(3);
  int allowed = 0;
  for (int i = 0; i < 1000; ++i) allowed += limit.Allow(clock.now());
  CHECK(allowed == 3);
  CHECK(limit.TakeSuppressed() == 997);
  CHECK(limit.TakeSuppressed() == 0);
  clock.Advance(999ms);
  CHECK_FALSE(limit.Allow(clock.now()));  // still the same second
  clock.Advance(1ms);
  CHECK(limit.Allow(clock.now()));  // a new second, a new budget
  CHECK(limit.Allow(clock.now()));
  CHECK(limit.Allow(clock.now()));
  CHECK_FALSE(limit.Allow(clock.now()));
  CHECK(limit.TakeSuppressed() == 2);
}

TEST_CASE("log limiter: a budget of zero logs nothing and counts everything", "[log_limiter]") {
  FakeClock clock;
  LogLimiter limit(0);
  CHECK_FALSE(limit.Allow(clock.now()));
  CHECK_FALSE(limit.Allow(clock.now()));
  CHECK(limit.TakeSuppressed() == 2);
}

}  // namespace lanswarm
