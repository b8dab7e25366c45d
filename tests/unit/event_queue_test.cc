// The simulator's event queue gives events in (time, push order), as the
// binary heap before it did, whether an event sits in a lane or the heap.
#include <catch2/catch.hpp>

#include <functional>
#include <queue>
#include <random>
#include <vector>

#include "tests/sim/event_queue.h"

namespace lanswarm::sim {

namespace {
struct Ev {
  std::int64_t at;
  std::uint64_t seq;
  bool operator>(const Ev& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};
}  // namespace

TEST_CASE("event queue: lanes and heap together pop in (time, push order), as one heap does", "[sim]") {
  std::mt19937_64 rng(3);
  EventQueue<Ev> q;
  for (std::int64_t d : {1000, 2000, 3000, 100'000}) q.AddLane(d);
  std::priority_queue<Ev, std::vector<Ev>, std::greater<>> heap;
  std::int64_t now = 0;
  std::uint64_t seq = 0;
  std::size_t popped = 0;
  // A random mix of fixed delays (lanes), odd delays (the heap) and zero
  // (ties at the same time, ordered by seq), interleaved with pops that move
  // time forward, as the simulator's loop does.
  for (int step = 0; step < 20000; ++step) {
    if (heap.empty() || rng() % 3 != 0) {
      static constexpr std::int64_t kDelays[] = {0, 1000, 2000, 3000, 100'000, 1500, 77};
      const std::int64_t d = kDelays[rng() % 7];
      const Ev e{now + d, seq++};
      q.Push(d, e);
      heap.push(e);
    } else {
      REQUIRE_FALSE(q.empty());
      const Ev got = q.top();
      const Ev want = heap.top();
      REQUIRE(got.at == want.at);
      REQUIRE(got.seq == want.seq);
      q.pop();
      heap.pop();
      now = got.at;
      ++popped;
    }
    REQUIRE(q.size() == heap.size());
  }
  CHECK(popped > 1000);
}

}  // namespace lanswarm::sim
