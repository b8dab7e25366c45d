// One line of a terminal that is redrawn in place: each text replaces the
// last ("\r", then blanks over whatever of a longer text would remain).
// Does nothing when disabled (not a terminal, --quiet, --json), so callers
// need no conditionals. ProgressLine and `peer get`'s display draw on it.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string_view>

namespace lanswarm {

class StatusLine {
 public:
  // `out` must outlive this.
  StatusLine(std::FILE* out, bool enabled) : out_(out), enabled_(enabled) {}
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

  // True when `f` is a terminal; the usual `enabled` argument.
  static bool IsTerminal(std::FILE* f);

  // REQUIRES: `text` is one line (no '\n' or '\r').
  void Show(std::string_view text);
  // Blanks what is shown and leaves the cursor at the start of the line, so
  // the next output (an error, a summary) starts on a clean line.
  void Clear();
  // Keeps what is shown and moves to the next line.
  void End();

  bool enabled() const { return enabled_; }
  // True while something is on the line: shown and not cleared or ended.
  bool shown() const { return width_ > 0; }

 private:
  std::FILE* out_;
  bool enabled_;
  std::size_t width_ = 0;  // bytes of the text on the line now (ASCII: columns)
};

}  // namespace lanswarm
