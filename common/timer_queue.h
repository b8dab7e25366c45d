// Deadlines in order: the pure half of the event loop's timers. The loop
// waits until NextDeadline() and then fires whatever PopDue() returns.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

#include "common/clock.h"

namespace lanswarm {

class TimerQueue {
 public:
  using Id = std::uint64_t;

  // Schedules `id` at `deadline`, replacing any earlier schedule of it.
  void Schedule(Id id, Clock::TimePoint deadline);
  // False when `id` was not scheduled.
  bool Cancel(Id id);
  bool contains(Id id) const { return deadlines_.count(id) != 0; }
  std::size_t size() const { return deadlines_.size(); }

  std::optional<Clock::TimePoint> NextDeadline() const;
  // Removes and returns the earliest timer due at `now` (deadline <= now);
  // equal deadlines come out in the order they were scheduled.
  std::optional<Id> PopDue(Clock::TimePoint now);

 private:
  // (deadline, sequence) orders ties by scheduling order; the sequence maps
  // back to the id.
  struct Key {
    Clock::TimePoint deadline;
    std::uint64_t seq;
    Id id;
    bool operator<(const Key& o) const { return std::tie(deadline, seq) < std::tie(o.deadline, o.seq); }
  };
  std::set<Key> order_;
  std::unordered_map<Id, Key> deadlines_;
  std::uint64_t next_seq_ = 0;
};

}  // namespace lanswarm
