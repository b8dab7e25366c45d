#include "common/timer_queue.h"

namespace lanswarm {

void TimerQueue::Schedule(Id id, Clock::TimePoint deadline) {
  Cancel(id);
  Key key{deadline, next_seq_++, id};
  order_.insert(key);
  deadlines_.emplace(id, key);
}

bool TimerQueue::Cancel(Id id) {
  auto it = deadlines_.find(id);
  if (it == deadlines_.end()) return false;
  order_.erase(it->second);
  deadlines_.erase(it);
  return true;
}

std::optional<Clock::TimePoint> TimerQueue::NextDeadline() const {
  if (order_.empty()) return std::nullopt;
  return order_.begin()->deadline;
}

std::optional<TimerQueue::Id> TimerQueue::PopDue(Clock::TimePoint now) {
  if (order_.empty() || order_.begin()->deadline > now) return std::nullopt;
  const Id id = order_.begin()->id;
  order_.erase(order_.begin());
  deadlines_.erase(id);
  return id;
}

}  // namespace lanswarm
