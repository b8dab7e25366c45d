// A whole copy hands out each chunk once before any twice.
#include <catch2/catch.hpp>

#include "peer/spread_tracker.h"

namespace lanswarm::peer {

TEST_CASE("spread: a chunk sent once is deferred while others never went out", "[spread]") {
  SpreadTracker t(3);
  CHECK(t.ShouldSend(1));
  t.OnSent(1);
  CHECK_FALSE(t.ShouldSend(1));  // a second getter asks for it: REJECT elsewhere
  CHECK(t.ShouldSend(0));
  CHECK(t.unsent() == 2);
  t.OnSent(1);  // counted once
  CHECK(t.unsent() == 2);
}

TEST_CASE("spread: once every chunk went out, everything is served", "[spread]") {
  SpreadTracker t(3);
  for (std::uint32_t i = 0; i < 3; ++i) t.OnSent(i);
  CHECK(t.spread());
  for (std::uint32_t i = 0; i < 3; ++i) CHECK(t.ShouldSend(i));
}

// Two seeds: this one sent chunk 1 to a getter that then left (done or
// dead); chunks 0 and 2 went out from the other seed, so this pass never
// completes. A later getter that needs chunk 1 must get it here.
TEST_CASE("spread: a chunk whose receiver left counts as unsent again", "[spread]") {
  SpreadTracker t(3);
  t.OnSent(1);
  CHECK_FALSE(t.ShouldSend(1));
  t.OnLost(1);
  CHECK(t.ShouldSend(1));
  CHECK(t.unsent() == 3);
  t.OnLost(1);  // counted once
  t.OnLost(2);  // never sent: nothing to give back
  CHECK(t.unsent() == 3);
  t.OnSent(1);
  CHECK_FALSE(t.ShouldSend(1));
}

TEST_CASE("spread: out-of-range indexes are not the tracker's to refuse", "[spread]") {
  SpreadTracker t(2);
  t.OnSent(7);
  CHECK(t.unsent() == 2);
  CHECK(t.ShouldSend(7));  // the session answers out-of-range before asking
}

}  // namespace lanswarm::peer
