// A rate over a sliding window: samples of a growing total (bytes sent,
// bytes verified) in, bytes per second over roughly the last `window` out.
// Pure: the caller passes the time of each sample.
#pragma once

#include <cstdint>
#include <deque>
#include <utility>

#include "common/clock.h"

namespace lanswarm {

class RateWindow {
 public:
  explicit RateWindow(Clock::Duration window) : window_(window) {}

  // Records `total` at `now`; samples older than the window are dropped,
  // but two are always kept so there is a rate to give.
  void Add(Clock::TimePoint now, std::uint64_t total) {
    samples_.emplace_back(now, total);
    while (samples_.size() > 2 && now - samples_.front().first > window_) samples_.pop_front();
  }

  // Per second between the oldest and newest sample; 0 before two samples.
  double PerSecond() const {
    if (samples_.size() < 2) return 0;
    const double secs = std::chrono::duration<double>(samples_.back().first - samples_.front().first).count();
    if (secs <= 0) return 0;
    return static_cast<double>(samples_.back().second - samples_.front().second) / secs;
  }

 private:
  Clock::Duration window_;
  std::deque<std::pair<Clock::TimePoint, std::uint64_t>> samples_;
};

}  // namespace lanswarm
