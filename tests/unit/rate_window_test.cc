// The sliding-window rate behind `peer status`, `peer get`'s progress and
// the shape of the coordinator's report rate.
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

TEST_CASE("rate window: counts per second over the last 10 s, sampled once a second", "[rate_window]") {
  // The coordinator's report rate: the number of reports so far, sampled by
  // its once-a-second cron, as reports per second over the last 10 s.
  FakeClock clock;
  RateWindow r(10s);
  std::uint64_t reports = 0;
  r.Add(clock.now(), reports);
  clock.Advance(1s);
  r.Add(clock.now(), reports += 500);  // a burst in the first second, then silence
  for (int i = 0; i < 9; ++i) {
    clock.Advance(1s);
    r.Add(clock.now(), reports);
  }
  CHECK(r.PerSecond() == Approx(50));  // at 10 s the burst is still inside: 500 / 10 s
  CHECK(static_cast<std::uint64_t>(1000.0 * r.PerSecond()) == 50000);  // as STATS reports it, x 1000
  clock.Advance(1s);
  r.Add(clock.now(), reports);
  CHECK(r.PerSecond() == 0);  // at 11 s it has left the window
}

}  // namespace lanswarm
