#include <catch2/catch.hpp>

#include "common/clock.h"

namespace lanswarm {

using namespace std::chrono_literals;

TEST_CASE("FakeClock: moves only when advanced", "[clock]") {
  FakeClock c;
  const auto t0 = c.now();
  CHECK(c.now() == t0);
  c.Advance(1500ms);
  CHECK(c.now() - t0 == 1500ms);
  c.Advance(0s);
  CHECK(c.now() - t0 == 1500ms);
}

TEST_CASE("FakeClock: usable through the Clock interface", "[clock]") {
  FakeClock fake;
  const Clock& clock = fake;
  const auto t0 = clock.now();
  fake.Advance(30s);
  CHECK(clock.now() - t0 == 30s);
}

TEST_CASE("SteadyClock: never goes backwards", "[clock]") {
  const Clock& c = SteadyClock::Instance();
  auto prev = c.now();
  for (int i = 0; i < 1000; ++i) {
    auto t = c.now();
    REQUIRE(t >= prev);
    prev = t;
  }
}

}  // namespace lanswarm
