#include "common/units.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace lanswarm {

namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

Result<std::uint64_t> ParseSize(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("bad size '{}': {}", text, why));
  };
  std::uint64_t value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(begin, end, value);
  if (ec == std::errc::result_out_of_range) return bad("too large");
  if (ec != std::errc() || p == begin) return bad("expected a number such as 1048576, 256K or 16MiB");

  std::string suffix;
  for (const char* q = p; q != end; ++q) suffix.push_back(Lower(*q));
  int shift = 0;
  if (!suffix.empty()) {
    switch (suffix[0]) {
      case 'k': shift = 10; break;
      case 'm': shift = 20; break;
      case 'g': shift = 30; break;
      case 't': shift = 40; break;
      case 'b': shift = 0; break;
      default: return bad("unknown unit (use K, M, G or T)");
    }
    std::string_view rest = std::string_view(suffix).substr(suffix[0] == 'b' ? 0 : 1);
    if (!(rest.empty() || rest == "b" || rest == "ib")) return bad("unknown unit (use K, M, G or T)");
  }
  if (shift > 0 && value > (UINT64_MAX >> shift)) return bad("too large");
  return value << shift;
}

std::string FormatBytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  if (v >= 100) return fmt::format("{:.0f} {}", v, kUnits[u]);
  if (v >= 10) return fmt::format("{:.1f} {}", v, kUnits[u]);
  return fmt::format("{:.2f} {}", v, kUnits[u]);
}

std::string FormatSeconds(double seconds) {
  if (!(seconds >= 0) || std::isinf(seconds)) return "?";
  auto s = static_cast<std::uint64_t>(std::llround(seconds));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

}  // namespace lanswarm
