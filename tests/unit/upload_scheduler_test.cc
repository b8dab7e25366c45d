// The uploader's choice: at most `slots` grants or sends at once, interested
// connections in turn, favoured ones first, a refused request keeping its
// grant, unused grants lapsing, a pass giving the slot to the next.
#include <catch2/catch.hpp>

#include "peer/upload_scheduler.h"

namespace lanswarm::peer {

namespace {
using namespace std::chrono_literals;
using Keys = std::vector<UploadScheduler::ConnKey>;
const Clock::TimePoint t0 = Clock::TimePoint(1000h);
}  // namespace

TEST_CASE("upload scheduler: grants go to interested connections in turn, slots at most") {
  UploadScheduler s(UploadOptions{.slots = 2});
  CHECK(s.Grants(t0).empty());  // nobody wants anything
  for (UploadScheduler::ConnKey c : {1, 2, 3}) s.SetInterested(c, true);
  CHECK(s.Grants(t0) == Keys{1, 2});
  CHECK(s.Grants(t0).empty());  // both slots taken
  CHECK(s.busy() == 2);
  CHECK(s.waiting() == 1);  // 3
  // 1 uses its grant and finishes: 3 is next, then 1 again.
  CHECK(s.OnRequest(1));
  s.OnSent(1);
  CHECK(s.Grants(t0) == Keys{3});
  CHECK(s.OnRequest(2));
  s.OnSent(2);
  CHECK(s.Grants(t0) == Keys{1});
}

TEST_CASE("upload scheduler: a lone connection takes both slots, two at most") {
  UploadScheduler s(UploadOptions{.slots = 3});
  s.SetInterested(1, true);
  CHECK(s.Grants(t0) == Keys{1, 1});
  CHECK(s.busy() == 2);
  s.SetInterested(2, true);
  CHECK(s.Grants(t0) == Keys{2});
  CHECK(s.OnRequest(1));
  CHECK(s.OnRequest(1));
  CHECK(!s.OnRequest(1));
  s.OnSent(1);
  CHECK(s.Grants(t0) == Keys{1});  // nobody waits: a second slot, by key
  s.Forget(1);
  CHECK(s.busy() == 1);
}

TEST_CASE("upload scheduler: a request without a grant is not counted, one grant is one request") {
  UploadScheduler s(UploadOptions{.slots = 1});
  CHECK(!s.OnRequest(5));  // a peer that does not take grants: served outside the slots
  s.SetInterested(5, true);
  CHECK(s.Grants(t0) == Keys{5});
  CHECK(s.OnRequest(5));
  CHECK(!s.OnRequest(5));  // its grant is used
  s.OnSent(5);
  CHECK(s.busy() == 0);
  s.OnSent(5);  // twice is harmless
  CHECK(s.busy() == 0);
}

TEST_CASE("upload scheduler: a refused request keeps its grant; an unused grant lapses") {
  UploadScheduler s(UploadOptions{.slots = 1, .grant_timeout = 2s});
  s.SetInterested(1, true);
  s.SetInterested(2, true);
  CHECK(s.Grants(t0) == Keys{1});
  CHECK(s.OnRequest(1));
  s.OnRefused(1, t0 + 1s);  // REJECT missing: 1 may ask for another chunk
  CHECK(s.Grants(t0 + 2s).empty());  // the grant stands again from t0 + 1s: not lapsed at t0 + 2s
  CHECK(s.OnRequest(1));
  s.OnRefused(1, t0 + 1s);
  // Not used within grant_timeout: the slot goes to 2, and 1 waits its turn.
  CHECK(s.Grants(t0 + 3s) == Keys{2});
  CHECK(!s.OnRequest(1));
  CHECK(s.Grants(t0 + 4s).empty());  // 2's grant, from t0 + 3s, stands until t0 + 5s
  CHECK(s.Grants(t0 + 5s) == Keys{1});
}

TEST_CASE("upload scheduler: passing or losing interest frees the slot; favoured connections first") {
  UploadScheduler s(UploadOptions{.slots = 1});
  s.SetInterested(1, true);
  s.SetInterested(2, true);
  CHECK(s.Grants(t0) == Keys{1});
  s.SetInterested(1, false, true);  // nothing to ask for now
  CHECK(s.Grants(t0) == Keys{2});
  s.SetInterested(2, false);
  CHECK(s.Grants(t0).empty());
  // A favoured connection goes before those that waited longer.
  s.SetInterested(3, true);
  s.SetFavoured(4, true);
  s.SetInterested(4, true);
  CHECK(s.Grants(t0) == Keys{4});
  s.Forget(4);  // closed while granted: its slot is free
  CHECK(s.Grants(t0) == Keys{3});
  s.Forget(3);
  s.Forget(99);  // unknown: harmless
  CHECK(s.busy() == 0);
  CHECK(s.Grants(t0).empty());
}
}  // namespace lanswarm::peer
