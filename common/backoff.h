// Exponential backoff with full jitter for reconnecting: the n-th retry
// waits a random time in [0, min(cap, base * 2^n)], so a hundred peers that
// lost the coordinator at once do not all come back in the same instant.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

#include "common/clock.h"

namespace lanswarm {

class Backoff {
 public:
  Backoff(Clock::Duration base, Clock::Duration cap, std::uint64_t seed) : base_(base), cap_(cap), rng_(seed) {}

  // The wait before the next attempt; each call widens the window.
  Clock::Duration Next() {
    const auto ceiling = std::min<Clock::Duration>(cap_, base_ * (std::int64_t{1} << std::min(attempts_, 30)));
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
