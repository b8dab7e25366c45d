#include <cstdio>

#include <catch2/catch.hpp>

#include "common/progress_line.h"

namespace lanswarm {

using namespace std::chrono_literals;

TEST_CASE("ProgressLine: formats percent, bytes, rate and ETA", "[progress]") {
  CHECK(ProgressLine::Format("hashing", 1u << 30, 4ull << 30, 2.0) ==
        "hashing  25.0%  1.00 GiB / 4.00 GiB  512 MiB/s  ETA 6s");
  CHECK(ProgressLine::Format("x", 0, 100, 0.0) == "x   0.0%  0 B / 100 B  0 B/s  ETA ?");
  CHECK(ProgressLine::Format("x", 0, 0, 1.0) == "x 100.0%  0 B / 0 B  0 B/s  ETA 0s");
}

TEST_CASE("ProgressLine: redraws at most every 200 ms and ends the line", "[progress]") {
  FakeClock clock;
  char* buf = nullptr;
  std::size_t len = 0;
  std::FILE* mem = open_memstream(&buf, &len);
  REQUIRE(mem != nullptr);
  {
    ProgressLine p(mem, true, "t", clock);
    p.Update(10, 100);  // first update draws
    p.Update(20, 100);  // too soon
    clock.Advance(250ms);
    p.Update(30, 100);  // draws
    p.Finish();
  }
  std::fclose(mem);
  std::string out(buf, len);
  std::free(buf);
  CHECK(std::count(out.begin(), out.end(), '\r') == 3);  // two updates + final
  CHECK(out.find(" 10.0%") != std::string::npos);
  CHECK(out.find(" 20.0%") == std::string::npos);
  CHECK(out.back() == '\n');
}

TEST_CASE("ProgressLine: disabled prints nothing", "[progress]") {
  FakeClock clock;
  char* buf = nullptr;
  std::size_t len = 0;
  std::FILE* mem = open_memstream(&buf, &len);
  {
    ProgressLine p(mem, false, "t", clock);
    p.Update(50, 100);
  }
  std::fclose(mem);
  CHECK(len == 0);
  std::free(buf);
}

}  // namespace lanswarm
