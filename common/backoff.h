// Exponential backoff: the one formula, min(cap, base * 2^n), and a
// jittered form of it for reconnecting to a shared server.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

#include "common/clock.h"

namespace lanswarm {

// min(cap, base * 2^attempts), without overflow however many attempts;
// attempts <= 0 gives min(cap, base).
constexpr Clock::Duration ExponentialWait(Clock::Duration base, Clock::Duration cap, int attempts) {
  Clock::Duration wait = base;
  for (int i = 0; i < attempts && wait > Clock::Duration::zero() && wait < cap; ++i) wait *= 2;
  return std::min(wait, cap);
}

// Full jitter: the n-th retry waits a random time in [0, ExponentialWait(n)],
// so a hundred peers that lost the coordinator at once do not all come back
// in the same instant.
class Backoff {
 public:
  Backoff(Clock::Duration base, Clock::Duration cap, std::uint64_t seed) : base_(base), cap_(cap), rng_(seed) {}

  // The wait before the next attempt; each call widens the window.
  Clock::Duration Next() {
    const Clock::Duration ceiling = ExponentialWait(base_, cap_, attempts_);
    ++attempts_;
    std::uniform_int_distribution<std::int64_t> pick(0, ceiling.count());
    return Clock::Duration(pick(rng_));
  }
  // After a success: the next failure starts from `base` again.
  void Reset() { attempts_ = 0; }
  int attempts() const { return attempts_; }

 private:
  Clock::Duration base_, cap_;
  std::mt19937_64 rng_;
  int attempts_ = 0;
};

}  // namespace lanswarm
