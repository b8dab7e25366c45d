// The sliding-window rate behind `peer status` and `peer get`'s progress.
#include <catch2/catch.hpp>

#include "common/rate_window.h"

namespace lanswarm {

using namespace std::chrono_literals;

TEST_CASE("rate window: no rate before two samples", "[rate_window]") {
  FakeClock clock;
  RateWindow r(5s);
  CHECK(r.PerSecond() == 0);
  r.Add(clock.now(), 100);
  CHECK(r.PerSecond() == 0);
}

TEST_CASE("rate window: bytes per second over the last window only", "[rate_window]") {
  FakeClock clock;
  RateWindow r(5s);
  // One sample a second: 1000 B/s for 10 s, then 100 B/s for 5 s. After
  // those 5 s only the slow part is in the window.
  std::uint64_t total = 0;
  r.Add(clock.now(), total);
  for (int i = 0; i < 10; ++i) {
    clock.Advance(1s);
    r.Add(clock.now(), total += 1000);
  }
  CHECK(r.PerSecond() == Approx(1000));
  for (int i = 0; i < 5; ++i) {
    clock.Advance(1s);
    r.Add(clock.now(), total += 100);
  }
  CHECK(r.PerSecond() == Approx(100));
}

}  // namespace lanswarm
