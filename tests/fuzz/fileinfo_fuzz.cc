// libFuzzer target for the .fileinfo parser (ParseFileInfo, and toml++
// beneath it) on arbitrary text.
// Properties checked on every input, besides "no crash, no sanitizer report":
//  - an error is one line that starts with the origin (doc/fileinfo.md);
//  - a parsed FileInfo is valid, and its canonical text parses to an equal
//    FileInfo that serializes to the identical text.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fileinfo/fileinfo.h"

using namespace lanswarm;

namespace {

const std::string kOrigin = "fuzz.fileinfo";

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "fileinfo property violated: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseFileInfo(text, kOrigin);
  if (!parsed.ok()) {
    const std::string& msg = parsed.status().message();
    if (msg.find('\n') != std::string::npos) Fail("error is not one line");
    if (msg.rfind(kOrigin, 0) != 0) Fail("error does not start with the origin");
    return 0;
  }
  if (!ValidateFileInfo(*parsed).ok()) Fail("parsed an invalid FileInfo");
  const std::string canonical = SerializeFileInfo(*parsed);
  auto again = ParseFileInfo(canonical, kOrigin);
  if (!again.ok()) Fail("canonical text does not parse");
  if (!(*again == *parsed)) Fail("canonical text parses to another FileInfo");
  if (SerializeFileInfo(*again) != canonical) Fail("canonical text does not re-serialize identically");
  return 0;
}
