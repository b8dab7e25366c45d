// Time behind an interface, so that expiry, backoff and rate code can be
// tested with a clock the test advances by hand.
#pragma once

#include <cassert>
#include <chrono>

namespace lanswarm {

// Monotonic time. Only differences between two now() values mean anything.
class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// A duration in seconds, for people and for rates.
inline double ToSeconds(Clock::Duration d) { return std::chrono::duration<double>(d).count(); }

// The real monotonic clock (CLOCK_MONOTONIC).
class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  // A process-wide instance; it has no state, so sharing is safe.
  static const SteadyClock& Instance();
};

// A clock that moves only when told to. Not thread-safe: a test owns it.
class FakeClock final : public Clock {
 public:
  // Starts at an arbitrary non-zero instant so code cannot rely on epoch 0.
  FakeClock() : now_(TimePoint(std::chrono::hours(1000))) {}
  TimePoint now() const override { return now_; }
  // REQUIRES: d >= 0 (monotonic clocks never go back).
  void Advance(Duration d) {
    assert(d >= Duration::zero());
    now_ += d;
  }

 private:
  TimePoint now_;
};

}  // namespace lanswarm
