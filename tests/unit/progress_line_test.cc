#include <cstdio>
#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

#include "common/progress_line.h"
#include "common/status_line.h"

namespace lanswarm {

using namespace std::chrono_literals;

namespace {

// A FILE* whose bytes the test reads back: what a terminal would receive.
class MemoryFile {
 public:
  MemoryFile() : f_(open_memstream(&buf_, &len_)) { REQUIRE(f_ != nullptr); }
  ~MemoryFile() {
    if (f_ != nullptr) std::fclose(f_);
    std::free(buf_);
  }
  std::FILE* get() { return f_; }
  // Everything written so far.
  std::string Text() {
    std::fflush(f_);
    return std::string(buf_, len_);
  }

 private:
  char* buf_ = nullptr;
  std::size_t len_ = 0;
  std::FILE* f_;
};

}  // namespace

TEST_CASE("ProgressLine: formats percent, bytes, rate and ETA", "[progress]") {
  CHECK(ProgressLine::Format("hashing", 1u << 30, 4ull << 30, 2.0) ==
        "hashing  25.0%  1.00 GiB / 4.00 GiB  512 MiB/s  ETA 6s");
  CHECK(ProgressLine::Format("x", 0, 100, 0.0) == "x   0.0%  0 B / 100 B  0 B/s  ETA ?");
  CHECK(ProgressLine::Format("x", 0, 0, 1.0) == "x 100.0%  0 B / 0 B  0 B/s  ETA 0s");
}

TEST_CASE("ProgressLine: redraws at most every 200 ms and ends the line", "[progress]") {
  FakeClock clock;
  MemoryFile mem;
  {
    ProgressLine p(mem.get(), true, "t", clock);
    p.Update(10, 100);  // first update draws
    p.Update(20, 100);  // too soon
    clock.Advance(250ms);
    p.Update(30, 100);  // draws
    p.Finish();
  }
  const std::string out = mem.Text();
  CHECK(std::count(out.begin(), out.end(), '\r') == 3);  // two updates + final
  CHECK(out.find(" 10.0%") != std::string::npos);
  CHECK(out.find(" 20.0%") == std::string::npos);
  CHECK(out.back() == '\n');
}

TEST_CASE("ProgressLine: disabled prints nothing", "[progress]") {
  FakeClock clock;
  MemoryFile mem;
  {
    ProgressLine p(mem.get(), false, "t", clock);
    p.Update(50, 100);
  }
  CHECK(mem.Text().empty());
}

TEST_CASE("ProgressLine: never drawn, Finish leaves the terminal alone", "[progress]") {
  FakeClock clock;
  MemoryFile mem;
  ProgressLine p(mem.get(), true, "t", clock);
  p.Finish();
  CHECK(mem.Text().empty());
}

TEST_CASE("StatusLine: each text replaces the last, blanking what a longer one left", "[progress]") {
  MemoryFile mem;
  StatusLine line(mem.get(), true);
  CHECK_FALSE(line.shown());
  line.Show("abcdef");
  line.Show("xy");
  line.Show("1234567");
  CHECK(line.shown());
  CHECK(mem.Text() == "\rabcdef\rxy    \r1234567");
}

TEST_CASE("StatusLine: Clear blanks the line and returns to its start", "[progress]") {
  MemoryFile mem;
  StatusLine line(mem.get(), true);
  line.Show("abc");
  line.Clear();
  CHECK_FALSE(line.shown());
  line.Clear();  // nothing shown: nothing written
  line.Show("de");  // drawn on a clean line: no padding
  CHECK(mem.Text() == "\rabc\r   \r\rde");
}

TEST_CASE("StatusLine: End keeps the text and moves to the next line, once", "[progress]") {
  MemoryFile mem;
  StatusLine line(mem.get(), true);
  line.End();  // nothing shown: nothing written
  line.Show("done");
  line.End();
  line.End();
  CHECK_FALSE(line.shown());
  CHECK(mem.Text() == "\rdone\n");
}

TEST_CASE("StatusLine: disabled writes nothing", "[progress]") {
  MemoryFile mem;
  StatusLine line(mem.get(), false);
  CHECK_FALSE(line.enabled());
  line.Show("abc");
  line.Clear();
  line.Show("abc");
  line.End();
  CHECK_FALSE(line.shown());
  CHECK(mem.Text().empty());
}

}  // namespace lanswarm
