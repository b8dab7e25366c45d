// A budget for log lines that others can cause (a client's garbage, a
// connection refused): at most `per_second` lines in any one second, and a
// count of the lines held back, so that a flood costs one summary line
// instead of one line per attempt. Pure: the caller passes the time.
#pragma once

#include <cstdint>

#include "common/clock.h"

namespace lanswarm {

class LogLimiter {
 public:
  explicit LogLimiter(int per_second) : per_second_(per_second) {}

  // Whether a line may be logged now. A refusal is counted as suppressed.
  bool Allow(Clock::TimePoint now) {
    if (now - window_start_ >= std::chrono::seconds(1)) {
      window_start_ = now;
      left_ = per_second_;
    }
    if (left_ > 0) {
      --left_;
      return true;
    }
    ++suppressed_;
    return false;
  }
  // The lines held back since the last call, for a periodic summary line.
  std::uint64_t TakeSuppressed() {
    const std::uint64_t n = suppressed_;
    suppressed_ = 0;
    return n;
  }

 private:
  int per_second_;
  int left_ = 0;
  Clock::TimePoint window_start_{};
  std::uint64_t suppressed_ = 0;
};

}  // namespace lanswarm
