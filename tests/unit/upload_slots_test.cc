// The simulator's upload-slot experiment: at most `slots` sends at once, a
// line in the order asked, and REJECT(busy) past max_waiting.
#include <catch2/catch.hpp>

#include "tests/sim/upload_slots.h"

namespace lanswarm::sim {

TEST_CASE("upload slots: two at once, the rest wait in line in order") {
  UploadSlots s(UploadPolicy{.slots = 2, .max_waiting = 3});
  for (UploadSlots::ConnKey c : {1, 2, 3}) REQUIRE(s.Admit(c));
  CHECK(s.TryStart(1));
  CHECK(s.TryStart(2));
  CHECK_FALSE(s.TryStart(3));
  CHECK(s.sending() == 2);
  CHECK(s.waiting() == 1);
  // Waiting requests are bounded over all connections.
  REQUIRE(s.Admit(4));
  REQUIRE(s.Admit(4));
  CHECK_FALSE(s.Admit(5));
  CHECK_FALSE(s.TryStart(4));
  CHECK(s.Done(1) == std::vector<UploadSlots::ConnKey>{3, 4});
  CHECK(s.TryStart(3));
  CHECK_FALSE(s.TryStart(4));  // back in line, first
  CHECK(s.Forget(2) == std::vector<UploadSlots::ConnKey>{4});
  CHECK(s.TryStart(4));
  CHECK(s.sending() == 2);
  CHECK(s.waiting() == 1);
  s.Drop(4);
  CHECK(s.waiting() == 0);
}

TEST_CASE("upload slots: zero slots is no limit") {
  UploadSlots s(UploadPolicy{.slots = 0, .max_waiting = 0});
  for (UploadSlots::ConnKey c = 0; c < 100; ++c) {
    REQUIRE(s.Admit(c));
    REQUIRE(s.TryStart(c));
  }
  CHECK(s.sending() == 100);
}

}  // namespace lanswarm::sim
