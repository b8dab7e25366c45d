// The simulator's pending events, earliest first, ties in the order they
// were pushed: the same order a binary heap on (at, seq) gives, so a run is
// the same event for event whichever queue holds it.
//
// Almost every event is a message that takes the fixed one-way latency (or
// a fixed multiple of it), pushed in time order because simulated time only
// moves forward. Those go to a FIFO lane per delay: pushing and popping cost
// O(1) and touch memory in order, where the heap paid a logarithm of
// millions of pending HAVEs in cache misses at N = 10,000. Everything else
// (ticks, reports, random phases) goes to the heap.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <queue>
#include <vector>

namespace lanswarm::sim {

// Event: has `at` (the time it is due) and `seq` (the push order, strictly
// increasing), and operator> ordering by (at, seq).
template <typename Event>
class EventQueue {
 public:
  static constexpr std::size_t kMaxLanes = 4;

  // Events pushed with one of these delays go to that delay's lane.
  // Beyond kMaxLanes distinct delays the rest use the heap. REQUIRES:
  // delay >= 0; called before any Push.
  void AddLane(std::int64_t delay) {
    for (std::size_t i = 0; i < lanes_; ++i) {
      if (delay_[i] == delay) return;
    }
    if (lanes_ < kMaxLanes && delay >= 0) delay_[lanes_++] = delay;
  }

  // REQUIRES: e.at = now + delay with `now` never smaller than at any earlier
  // Push, and e.seq larger than any earlier one (what keeps a lane sorted).
  void Push(std::int64_t delay, const Event& e) {
    for (std::size_t i = 0; i < lanes_; ++i) {
      if (delay_[i] == delay) return lane_[i].push_back(e);
    }
    heap_.push(e);
  }

  bool empty() const { return size() == 0; }
  std::size_t size() const {
    std::size_t n = heap_.size();
    for (std::size_t i = 0; i < lanes_; ++i) n += lane_[i].size();
    return n;
  }

  // REQUIRES: !empty()
  const Event& top() const { return *Earliest().first; }
  void pop() {
    const int from = Earliest().second;
    if (from < 0) {
      heap_.pop();
    } else {
      lane_[static_cast<std::size_t>(from)].pop_front();
    }
  }

 private:
  // The earliest event and where it is: a lane's index, or -1 for the heap.
  std::pair<const Event*, int> Earliest() const {
    const Event* best = heap_.empty() ? nullptr : &heap_.top();
    int from = -1;
    for (std::size_t i = 0; i < lanes_; ++i) {
      if (lane_[i].empty()) continue;
      const Event& front = lane_[i].front();
      if (best == nullptr || *best > front) {
        best = &front;
        from = static_cast<int>(i);
      }
    }
    return {best, from};
  }

  std::priority_queue<Event, std::vector<Event>, std::greater<>> heap_;
  std::array<std::deque<Event>, kMaxLanes> lane_;
  std::array<std::int64_t, kMaxLanes> delay_{};
  std::size_t lanes_ = 0;
};

}  // namespace lanswarm::sim
