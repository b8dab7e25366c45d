#include <catch2/catch.hpp>

#include "common/aligned_buffer.h"
#include "common/timer_queue.h"

namespace lanswarm {

using namespace std::chrono_literals;

TEST_CASE("TimerQueue: fires in deadline order, ties in scheduling order", "[timer]") {
  FakeClock clock;
  const auto t0 = clock.now();
  TimerQueue q;
  q.Schedule(1, t0 + 30ms);
  q.Schedule(2, t0 + 10ms);
  q.Schedule(3, t0 + 20ms);
  q.Schedule(4, t0 + 10ms);
  CHECK(q.NextDeadline() == t0 + 10ms);
  CHECK_FALSE(q.PopDue(t0 + 9ms).has_value());
  std::vector<TimerQueue::Id> fired;
  while (auto id = q.PopDue(t0 + 100ms)) fired.push_back(*id);
  CHECK(fired == std::vector<TimerQueue::Id>{2, 4, 3, 1});
  CHECK(q.size() == 0);
  CHECK_FALSE(q.NextDeadline().has_value());
}

TEST_CASE("TimerQueue: cancel and reschedule", "[timer]") {
  FakeClock clock;
  const auto t0 = clock.now();
  TimerQueue q;
  q.Schedule(1, t0 + 10ms);
  q.Schedule(2, t0 + 20ms);
  CHECK(q.Cancel(1));
  CHECK_FALSE(q.Cancel(1));
  CHECK_FALSE(q.contains(1));
  q.Schedule(2, t0 + 5ms);  // replaces the earlier schedule
  CHECK(q.size() == 1);
  CHECK(q.NextDeadline() == t0 + 5ms);
  CHECK(q.PopDue(t0 + 5ms) == TimerQueue::Id{2});
}

TEST_CASE("AlignedBuffer: page-aligned, movable, empty when zero-sized", "[timer]") {
  AlignedBuffer b(10000);
  REQUIRE(b.data() != nullptr);
  CHECK(reinterpret_cast<std::uintptr_t>(b.data()) % AlignedBuffer::kAlignment == 0);
  CHECK(b.size() == 10000);
  b.data()[9999] = 7;
  AlignedBuffer moved = std::move(b);
  CHECK(moved.data()[9999] == 7);
  CHECK(b.data() == nullptr);
  CHECK(AlignedBuffer(0).data() == nullptr);
}

}  // namespace lanswarm
