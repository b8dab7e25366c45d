// The uploader's choice: at most `slots` connections in a turn at once, a
// turn granting `depth` chunks at a time up to turn_chunks, interested
// connections in turn, favoured ones first (cutting other turns short), a
// refused request keeping its grant, unused grants lapsing, a pass ending
// the turn.
#include <algorithm>

#include <catch2/catch.hpp>

#include "peer/upload_scheduler.h"

namespace lanswarm::peer {

namespace {
using namespace std::chrono_literals;
using Keys = std::vector<UploadScheduler::ConnKey>;
const Clock::TimePoint t0 = Clock::TimePoint(1000h);

// Uses every grant `conn` holds and reports each chunk sent.
void Drain(UploadScheduler& s, UploadScheduler::ConnKey conn, int grants) {
  for (int i = 0; i < grants; ++i) REQUIRE(s.OnRequest(conn));
  for (int i = 0; i < grants; ++i) s.OnSent(conn);
}
}  // namespace

TEST_CASE("upload scheduler: turns go to interested connections in order, slots at most") {
  UploadScheduler s(UploadOptions{.slots = 2, .turn_chunks = 4, .depth = 2});
  CHECK(s.Grants(t0).empty());  // nobody wants anything
  for (UploadScheduler::ConnKey c : {1, 2, 3}) s.SetInterested(c, true);
  // Two turns, two grants each: the next request is there before a chunk ends.
  CHECK(s.Grants(t0) == Keys{1, 1, 2, 2});
  CHECK(s.Grants(t0).empty());  // both turns hold `depth` grants
  CHECK(s.busy() == 2);
  CHECK(s.waiting() == 1);  // 3
  // 1 asks for both; one chunk leaves: its next grant goes out at once.
  CHECK(s.OnRequest(1));
  CHECK(s.OnRequest(1));
  CHECK(!s.OnRequest(1));  // two grants, two requests
  s.OnSent(1);
  CHECK(s.Grants(t0) == Keys{1});
  // 1's turn of four: the fourth grant is its last.
  REQUIRE(s.OnRequest(1));
  s.OnSent(1);
  CHECK(s.Grants(t0) == Keys{1});
  REQUIRE(s.OnRequest(1));
  s.OnSent(1);
  CHECK(s.Grants(t0).empty());  // all four granted, the last on its way: the slot is still 1's
  s.OnSent(1);
  // Its turn over, the slot goes to 3; 1 waits behind it.
  CHECK(s.Grants(t0) == Keys{3, 3});
  CHECK(s.waiting() == 1);
}

TEST_CASE("upload scheduler: nobody waiting, a turn that ends is a new one at once") {
  UploadScheduler s(UploadOptions{.slots = 1, .turn_chunks = 2, .depth = 2});
  s.SetInterested(1, true);
  CHECK(s.Grants(t0) == Keys{1, 1});
  Drain(s, 1, 2);
  CHECK(s.Grants(t0) == Keys{1, 1});
  CHECK(s.busy() == 1);
  s.Forget(1);
  CHECK(s.busy() == 0);
  CHECK(s.Grants(t0).empty());
}

TEST_CASE("upload scheduler: the daemon's depth, one grant at a time, the next once the chunk has left") {
  UploadScheduler s(UploadOptions{.slots = 2, .turn_chunks = 3});
  for (UploadScheduler::ConnKey c : {1, 2, 3}) s.SetInterested(c, true);
  CHECK(s.Grants(t0) == Keys{1, 2});
  REQUIRE(s.OnRequest(1));
  CHECK(s.Grants(t0).empty());  // 1's chunk is on its way
  s.OnSent(1);
  CHECK(s.Grants(t0) == Keys{1});  // its turn goes on
  Drain(s, 1, 1);
  CHECK(s.Grants(t0) == Keys{1});
  Drain(s, 1, 1);
  CHECK(s.Grants(t0) == Keys{3});  // three chunks: 3's turn, 1 behind 2 and 3
  Drain(s, 2, 1);
  Drain(s, 3, 1);
  CHECK(s.Grants(t0) == Keys{2, 3});
}

TEST_CASE("upload scheduler: a request without a grant is not counted, one grant is one request") {
  UploadScheduler s(UploadOptions{.slots = 1, .turn_chunks = 1});
  CHECK(!s.OnRequest(5));  // a peer that does not take grants: served outside the slots
  s.SetInterested(5, true);
  CHECK(s.Grants(t0) == Keys{5});  // a turn of one chunk: one grant
  CHECK(s.OnRequest(5));
  CHECK(!s.OnRequest(5));  // its grant is used
  s.OnSent(5);
  s.OnSent(5);  // twice is harmless
  s.SetInterested(5, false);
  CHECK(s.Grants(t0).empty());
  CHECK(s.busy() == 0);
}

TEST_CASE("upload scheduler: a refused request keeps its grant; an unused grant lapses, and the turn with it") {
  UploadScheduler s(UploadOptions{.slots = 1, .turn_chunks = 4, .grant_timeout = 2s});
  s.SetInterested(1, true);
  s.SetInterested(2, true);
  CHECK(s.Grants(t0) == Keys{1});
  CHECK(s.OnRequest(1));
  s.OnRefused(1, t0 + 1s);  // REJECT missing: 1 may ask for another chunk
  CHECK(s.Grants(t0 + 2s).empty());  // the grant stands again from t0 + 1s: not lapsed at t0 + 2s
  CHECK(s.OnRequest(1));
  s.OnRefused(1, t0 + 1s);
  // Not used within grant_timeout: the turn ends (three chunks short), the
  // slot goes to 2, and 1 waits its turn.
  CHECK(s.Grants(t0 + 3s) == Keys{2});
  CHECK(!s.OnRequest(1));
  CHECK(s.Grants(t0 + 4s).empty());  // 2's grant, from t0 + 3s, stands until t0 + 5s
  CHECK(s.Grants(t0 + 5s) == Keys{1});
}

TEST_CASE("upload scheduler: passing or losing interest ends the turn; favoured connections first") {
  UploadScheduler s(UploadOptions{.slots = 1, .turn_chunks = 8, .depth = 2});
  s.SetInterested(1, true);
  s.SetInterested(2, true);
  CHECK(s.Grants(t0) == Keys{1, 1});
  s.SetInterested(1, false, true);  // nothing to ask for now: both grants back
  CHECK(s.Grants(t0) == Keys{2, 2});
  s.SetInterested(2, false);
  CHECK(s.Grants(t0).empty());
  // A favoured connection goes before those that waited longer.
  s.SetInterested(3, true);
  s.SetFavoured(4, true);
  s.SetInterested(4, true);
  CHECK(s.Grants(t0) == Keys{4, 4});
  s.Forget(4);  // closed in its turn: the slot is free
  CHECK(s.Grants(t0) == Keys{3, 3});
  s.Forget(3);
  s.Forget(99);  // unknown: harmless
  CHECK(s.busy() == 0);
  CHECK(s.Grants(t0).empty());
}

TEST_CASE("upload scheduler: a favoured connection that waits cuts another turn short") {
  UploadScheduler s(UploadOptions{.slots = 1, .turn_chunks = 8, .depth = 2});
  s.SetInterested(1, true);
  CHECK(s.Grants(t0) == Keys{1, 1});
  REQUIRE(s.OnRequest(1));
  s.SetFavoured(2, true);
  s.SetInterested(2, true);
  // 1 is granted no more: its unused grant stands, its chunk goes on.
  CHECK(s.Grants(t0).empty());
  REQUIRE(s.OnRequest(1));
  s.OnSent(1);
  CHECK(s.Grants(t0).empty());  // not before 1's last chunk has left
  s.OnSent(1);
  CHECK(s.Grants(t0) == Keys{2, 2});
  // A favoured turn is not cut for another favoured one.
  s.SetFavoured(3, true);
  s.SetInterested(3, true);
  Drain(s, 2, 2);
  CHECK(s.Grants(t0) == Keys{2, 2});
}
TEST_CASE("upload scheduler: a waiting child cuts every other turn, and the cut slots go to the line") {
  UploadScheduler s(UploadOptions{.slots = 2, .turn_chunks = 8});
  s.SetInterested(1, true);
  s.SetInterested(2, true);
  CHECK(s.Grants(t0) == Keys{1, 2});
  s.SetInterested(4, true);  // waits in the ordinary line
  REQUIRE(s.OnRequest(1));
  REQUIRE(s.OnRequest(2));
  s.OnRefused(2, t0);        // 2's grant stands again, unused
  s.SetFavoured(3, true);
  s.SetInterested(3, true);
  CHECK(s.Grants(t0).empty());
  // 1's chunk has left: its cut turn ends and the child takes the slot.
  s.OnSent(1);
  CHECK(s.Grants(t0) == Keys{3});
  // 2 was cut as well: once its standing grant is used and sent, its slot
  // goes to the next in line, not to more of 2's turn.
  REQUIRE(s.OnRequest(2));
  s.OnSent(2);
  CHECK(s.Grants(t0) == Keys{4});
  CHECK(s.busy() == 2);
}

TEST_CASE("upload scheduler: a connection that becomes favoured while it waits moves to the favoured line") {
  UploadScheduler s(UploadOptions{.slots = 1, .turn_chunks = 1});
  s.SetInterested(1, true);
  CHECK(s.Grants(t0) == Keys{1});
  s.SetInterested(2, true);
  s.SetInterested(3, true);
  s.SetFavoured(3, true);  // behind 2 until now
  Drain(s, 1, 1);
  CHECK(s.Grants(t0) == Keys{3});
  s.SetFavoured(3, false);
  Drain(s, 3, 1);
  CHECK(s.Grants(t0) == Keys{2});  // 3 is no longer ahead of anyone
}

TEST_CASE("upload scheduler: losing interest with a chunk on its way ends the turn once it has left") {
  UploadScheduler s(UploadOptions{.slots = 1, .turn_chunks = 8});
  s.SetInterested(1, true);
  s.SetInterested(2, true);
  CHECK(s.Grants(t0) == Keys{1});
  REQUIRE(s.OnRequest(1));
  s.SetInterested(1, false);
  CHECK(s.Grants(t0).empty());  // the slot is 1's until its chunk has left
  s.OnSent(1);
  CHECK(s.Grants(t0) == Keys{2});
  CHECK(s.waiting() == 0);
}

TEST_CASE("upload scheduler: busy time counts while a turn runs, not while idle") {
  UploadScheduler s(UploadOptions{.slots = 1, .turn_chunks = 1});
  CHECK(s.Grants(t0).empty());
  CHECK(s.Grants(t0 + 5s).empty());  // idle
  CHECK(s.busy_time() == Clock::Duration{});
  s.SetInterested(1, true);
  CHECK(s.Grants(t0 + 5s) == Keys{1});
  REQUIRE(s.OnRequest(1));
  s.OnSent(1);                         // the turn's one chunk has left
  CHECK(s.Grants(t0 + 5s + 300ms) == Keys{1});  // next turn at once: nobody else waits
  CHECK(s.busy_time() == 300ms);
  s.SetInterested(1, false);
  s.Forget(1);
  CHECK(s.Grants(t0 + 6s).empty());
  CHECK(s.busy_time() == 1s);
  CHECK(s.Grants(t0 + 9s).empty());
  CHECK(s.busy_time() == 1s);
}

}  // namespace lanswarm::peer
