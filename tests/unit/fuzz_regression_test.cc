// Inputs the libFuzzer targets (tests/fuzz/, doc/fuzzing.md) found to crash,
// replayed byte for byte. Each test names the target and the artifact.
#include <catch2/catch.hpp>

#include <string>

#include "common/toml_doc.h"
#include "fileinfo/fileinfo.h"

namespace lanswarm {

namespace {

bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string FileInfoError(std::string_view text) {
  auto r = ParseFileInfo(text, "x.fileinfo");
  REQUIRE_FALSE(r.ok());
  const std::string& msg = r.status().message();
  CHECK(msg.find('\n') == std::string::npos);
  CHECK(msg.rfind("x.fileinfo", 0) == 0);
  return msg;
}

}  // namespace

// fileinfo target, crash-c0f68d9ba0639b95affdc02dd848914ce24ddc1b: toml++
// 3.3.0 asserted (abort) when a table header's first character cannot start
// a key. Seen first with this 4-byte input; "[:" is the shortest.
TEST_CASE("fuzz regression: a table header starting with a non-key character is invalid TOML, not an abort",
          "[fuzz][fileinfo]") {
  for (std::string_view text : {std::string_view("[\x01[:", 4), std::string_view("[:"), std::string_view("[[="),
                                std::string_view("[ #"), std::string_view("lanswarm_fileinfo = 1\n[,]")}) {
    INFO(text);
    CHECK(Has(FileInfoError(text), "not valid TOML"));
    CHECK_FALSE(TomlDoc::Parse(text, "peer.toml").ok());  // configs read through the same parser
  }
}

// fileinfo target: toml++ 3.3.0's whitespace predicate reached
// __builtin_unreachable for code points U+00A1..U+0499 (undefined behaviour,
// reported by UBSan here and under `make asan`) wherever whitespace may
// stand: after '[', at the start of a line, after a line-ending backslash in
// a multi-line string.
TEST_CASE("fuzz regression: a non-ASCII character where whitespace may stand is handled, not undefined",
          "[fuzz][fileinfo]") {
  CHECK(Has(FileInfoError("a=1\n[\xC3\xA9]"), "not valid TOML"));
  CHECK(Has(FileInfoError("\xC2\xA7 = 1"), "not valid TOML"));
  // Valid TOML: the backslash trims the newline, and the string is "§".
  auto doc = TomlDoc::Parse("s = \"\"\"\\\n\xC2\xA7\"\"\"\n", "peer.toml");
  REQUIRE(doc.ok());
  auto s = doc->RequireString("s");
  REQUIRE(s.ok());
  CHECK(*s == "\xC2\xA7");
}

// fileinfo target, crash-e0d0da3e673554e85cde932e06cca28ee27f301a (a
// property violation): toml++ quotes the text it stopped at, newline included
// ("saw 'f\n'"), so the error took two lines. Quoted keys can hold a newline
// too. Control characters in an error are escaped.
TEST_CASE("fuzz regression: a TOML error quoting a newline is still one line", "[fuzz][fileinfo]") {
  const std::string msg = FileInfoError(std::string_view("f=f\n\0", 5));
  CHECK(Has(msg, "saw 'f\\n'"));
  auto doc = TomlDoc::Parse("\"a\\nb\" = 1\n", "peer.toml");
  REQUIRE(doc.ok());
  const Status unknown = doc->CheckNoUnknownKeys();
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.message() == "peer.toml:1: key 'a\\nb': unknown key");
}

}  // namespace lanswarm
