#include "common/status_line.h"

#include <unistd.h>

#include <string>

namespace lanswarm {

bool StatusLine::IsTerminal(std::FILE* f) { return ::isatty(::fileno(f)) == 1; }

void StatusLine::Show(std::string_view text) {
  if (!enabled_) return;
  std::string line = "\r";
  line.append(text);
  if (text.size() < width_) line.append(width_ - text.size(), ' ');
  width_ = text.size();
  std::fputs(line.c_str(), out_);
  std::fflush(out_);
}

void StatusLine::Clear() {
  if (!enabled_ || width_ == 0) return;  // nothing shown: leave the terminal alone
  std::string blank = "\r";
  blank.append(width_, ' ');
  blank += '\r';
  width_ = 0;
  std::fputs(blank.c_str(), out_);
  std::fflush(out_);
}

void StatusLine::End() {
  if (!enabled_ || width_ == 0) return;
  width_ = 0;
  std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace lanswarm
