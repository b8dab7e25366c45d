// peer/upload_capacity: the uplink's figure for REPORT, per busy time.
#include "peer/upload_capacity.h"

#include <catch2/catch.hpp>

using lanswarm::peer::UploadCapacity;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("upload capacity: bytes over busy time, once a window of it has passed", "[capacity]") {
  UploadCapacity c(seconds(2));
  CHECK_FALSE(c.Sample(0, seconds(0)));
  CHECK_FALSE(c.Sample(1'000'000, seconds(1)));  // 1 s busy: not yet a window
  CHECK(c.bytes_per_second() == 0);
  // A holder busy 0.3 s of each wall second: its rate per busy second is
  // its link's, whatever the wall clock did (the caller passes no time).
  CHECK(c.Sample(2'000'000, seconds(2)));  // known: worth a report
  CHECK(c.bytes_per_second() == 1'000'000);
  CHECK_FALSE(c.Sample(3'100'000, seconds(3)));  // 1.05 MB/s: under a quarter more
  CHECK(c.bytes_per_second() == 1'050'000);
  CHECK(c.Sample(7'000'000, seconds(4)));        // 2.5 MB/s over the last 2 s
  CHECK(c.bytes_per_second() == 2'500'000);
}

TEST_CASE("upload capacity: the peak stays; an idle spell or a reset changes nothing", "[capacity]") {
  UploadCapacity c(seconds(2));
  c.Sample(0, seconds(0));
  REQUIRE(c.Sample(8'000'000, seconds(2)));
  CHECK(c.bytes_per_second() == 4'000'000);
  // Slower later (a busy downstream): the figure is what the link did.
  for (int i = 3; i <= 8; ++i) CHECK_FALSE(c.Sample(8'000'000 + static_cast<std::uint64_t>(i - 2) * 1'000'000, seconds(i)));
  // Idle: no busy time passes, no sample counts.
  CHECK_FALSE(c.Sample(14'000'000, seconds(8)));
  CHECK(c.bytes_per_second() == 4'000'000);
  // Totals that go back (a restarted count) start afresh, no underflow.
  CHECK_FALSE(c.Sample(10, milliseconds(500)));
  CHECK(c.bytes_per_second() == 4'000'000);
}
