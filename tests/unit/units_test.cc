#include <catch2/catch.hpp>

#include "common/units.h"

namespace lanswarm {

TEST_CASE("ParseSize: plain numbers and binary suffixes", "[units]") {
  struct Row {
    const char* text;
    std::uint64_t want;
  };
  const Row rows[] = {
      {"0", 0},
      {"1048576", 1048576},
      {"256K", 256u << 10},
      {"256k", 256u << 10},
      {"256KiB", 256u << 10},
      {"256KB", 256u << 10},
      {"16M", 16u << 20},
      {"16MiB", 16u << 20},
      {"1G", 1ull << 30},
      {"2T", 2ull << 40},
      {"100B", 100},
      {"100b", 100},
  };
  for (const auto& r : rows) {
    INFO(r.text);
    auto v = ParseSize(r.text);
    REQUIRE(v.ok());
    CHECK(*v == r.want);
  }
}

TEST_CASE("ParseSize: rejects junk, negatives, fractions and overflow", "[units]") {
  for (const char* bad : {"", "M", "-1", "1.5M", "16 M", "16X", "16MB2", "16Mi", "99999999999999999999",
                          "20000000T", " 5"}) {
    INFO(bad);
    auto v = ParseSize(bad);
    CHECK_FALSE(v.ok());
    CHECK(v.status().message().find("bad size") != std::string::npos);
  }
}

TEST_CASE("FormatBytes: three significant digits with binary units", "[units]") {
  CHECK(FormatBytes(0) == "0 B");
  CHECK(FormatBytes(1023) == "1023 B");
  CHECK(FormatBytes(1024) == "1.00 KiB");
  CHECK(FormatBytes(1536) == "1.50 KiB");
  CHECK(FormatBytes(16u << 20) == "16.0 MiB");
  CHECK(FormatBytes(200ull << 30) == "200 GiB");
}

TEST_CASE("FormatSeconds: seconds, minutes and hours", "[units]") {
  CHECK(FormatSeconds(0) == "0s");
  CHECK(FormatSeconds(45.4) == "45s");
  CHECK(FormatSeconds(185) == "3m05s");
  CHECK(FormatSeconds(7380) == "2h03m");
  CHECK(FormatSeconds(-1) == "?");
}

}  // namespace lanswarm
