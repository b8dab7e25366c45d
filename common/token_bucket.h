// A rate limit in bytes per second (the upload cap): tokens accrue at
// `rate` up to `burst`; sending n bytes takes n tokens. Time comes from an
// injected clock.
#pragma once

#include <algorithm>
#include <cstdint>

#include "common/clock.h"

namespace lanswarm {

class TokenBucket {
 public:
  // rate 0 means unlimited.
  TokenBucket(const Clock& clock, std::uint64_t rate, std::uint64_t burst)
      : clock_(clock), rate_(rate), burst_(std::max<std::uint64_t>(burst, 1)), tokens_(static_cast<double>(burst_)),
        last_(clock.now()) {}

  bool unlimited() const { return rate_ == 0; }

  // Takes n tokens, going into debt if needed (a chunk is sent whole), and
  // returns how long to wait before sending anything more: zero when the
  // balance is not negative.
  Clock::Duration Take(std::uint64_t n) {
    if (unlimited()) return Clock::Duration::zero();
    Refill();
    tokens_ -= static_cast<double>(n);
    return Debt();
  }
  // How long until the balance is back to zero.
  Clock::Duration Debt() {
    if (unlimited()) return Clock::Duration::zero();
    Refill();
    if (tokens_ >= 0) return Clock::Duration::zero();
    return std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double>(-tokens_ / static_cast<double>(rate_)));
  }

 private:
  void Refill() {
    const auto now = clock_.now();
    const double secs = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    tokens_ = std::min(static_cast<double>(burst_), tokens_ + secs * static_cast<double>(rate_));
  }

  const Clock& clock_;
  std::uint64_t rate_, burst_;
  double tokens_;
  Clock::TimePoint last_;
};

}  // namespace lanswarm
