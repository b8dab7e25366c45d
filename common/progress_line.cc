#include "common/progress_line.h"

#include <unistd.h>

#include <fmt/format.h>

#include "common/units.h"

namespace lanswarm {

namespace {
constexpr auto kRefresh = std::chrono::milliseconds(200);
}

ProgressLine::ProgressLine(std::FILE* out, bool enabled, std::string label, const Clock& clock)
    : out_(out), enabled_(enabled), label_(std::move(label)), clock_(clock), start_(clock.now()),
      last_draw_(start_ - kRefresh) {}

ProgressLine::~ProgressLine() { Finish(); }

bool ProgressLine::IsTerminal(std::FILE* f) { return ::isatty(::fileno(f)) == 1; }

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
  std::string line = Format(label_, done, total, secs);
  // Pad over the remains of a longer previous line.
  const std::size_t width = line.size();
  if (width < last_width_) line.append(last_width_ - width, ' ');
  last_width_ = width;
  std::fprintf(out_, "\r%s", line.c_str());
  std::fflush(out_);
}

void ProgressLine::Update(std::uint64_t done, std::uint64_t total) {
  done_ = done;
  total_ = total;
  if (!enabled_ || finished_) return;
  const auto now = clock_.now();
  if (now - last_draw_ < kRefresh) return;
  last_draw_ = now;
  Draw(done, total);
}

void ProgressLine::Finish() {
  if (finished_) return;
  finished_ = true;
  if (!enabled_ || last_width_ == 0) return;  // never drawn: leave the terminal alone
  Draw(done_, total_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace lanswarm
