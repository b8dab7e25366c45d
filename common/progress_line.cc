#include "common/progress_line.h"

#include <fmt/format.h>

#include "common/units.h"

namespace lanswarm {

namespace {
constexpr auto kRefresh = std::chrono::milliseconds(200);
}

ProgressLine::ProgressLine(std::FILE* out, bool enabled, std::string label, const Clock& clock)
    : line_(out, enabled), label_(std::move(label)), clock_(clock), start_(clock.now()),
      last_draw_(start_ - kRefresh) {}

ProgressLine::~ProgressLine() { Finish(); }

std::string ProgressLine::Format(const std::string& label, std::uint64_t done, std::uint64_t total,
                                 double seconds) {
  const double pct = total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0;
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  const std::string eta = done >= total ? std::string("0s")
                          : rate > 0    ? FormatSeconds(static_cast<double>(total - done) / rate)
                                        : std::string("?");
  return fmt::format("{} {:5.1f}%  {} / {}  {}/s  ETA {}", label, pct, FormatBytes(done), FormatBytes(total),
                     FormatBytes(static_cast<std::uint64_t>(rate)), eta);
}

void ProgressLine::Draw(std::uint64_t done, std::uint64_t total) {
  const double secs = std::chrono::duration<double>(clock_.now() - start_).count();
  line_.Show(Format(label_, done, total, secs));
}

void ProgressLine::Update(std::uint64_t done, std::uint64_t total) {
  done_ = done;
  total_ = total;
  if (!line_.enabled() || finished_) return;
  const auto now = clock_.now();
  if (now - last_draw_ < kRefresh) return;
  last_draw_ = now;
  Draw(done, total);
}

void ProgressLine::Finish() {
  if (finished_) return;
  finished_ = true;
  if (!line_.shown()) return;  // never drawn: leave the terminal alone
  Draw(done_, total_);
  line_.End();
}

}  // namespace lanswarm
