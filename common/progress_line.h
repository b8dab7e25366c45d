// A one-line progress display on a terminal: percent, bytes, rate and ETA,
// redrawn in place (a StatusLine) at most a few times a second. Does nothing
// when disabled (not a terminal, or --quiet), so callers need no conditionals.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "common/clock.h"
#include "common/status_line.h"

namespace lanswarm {

class ProgressLine {
 public:
  // `out` must outlive this. `label` leads the line. `enabled` is usually
  // StatusLine::IsTerminal(out) and no --quiet.
  ProgressLine(std::FILE* out, bool enabled, std::string label, const Clock& clock = SteadyClock::Instance());
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine();

  // Redraws when at least the refresh interval has passed since the last draw.
  void Update(std::uint64_t done, std::uint64_t total);
  // Draws the final state and ends the line. Called by the destructor if not before.
  void Finish();

  // The text of a line for the given state; pure, for tests.
  static std::string Format(const std::string& label, std::uint64_t done, std::uint64_t total,
                            double seconds);

 private:
  void Draw(std::uint64_t done, std::uint64_t total);

  StatusLine line_;
  bool finished_ = false;
  std::string label_;
  const Clock& clock_;
  Clock::TimePoint start_;
  Clock::TimePoint last_draw_;
  std::uint64_t done_ = 0, total_ = 0;
};

}  // namespace lanswarm
