// A rate over a sliding window: samples of a growing total (bytes sent,
// bytes verified) in, bytes per second over roughly the last `window` out.
// Pure: the caller passes the time of each sample.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace lanswarm {

class RateWindow {
 public:
  explicit RateWindow(Clock::Duration window) : window_(window) {}

  // Records `total` at `now`; samples older than the window are dropped,
  // but two are always kept so there is a rate to give.
  void Add(Clock::TimePoint now, std::uint64_t total) {
    samples_.emplace_back(now, total);
    std::size_t old = 0;
    while (samples_.size() - old > 2 && now - samples_[old].first > window_) ++old;
    samples_.erase(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(old));
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
  // A vector, not a deque: tens of samples, and one of these per peer of
  // every download (a deque allocates 512 bytes at construction).
  std::vector<std::pair<Clock::TimePoint, std::uint64_t>> samples_;
};

}  // namespace lanswarm
