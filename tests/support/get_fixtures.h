// Fixtures of the CLI tests of `peer get`: a test file with its .fileinfo,
// the JSON events of `peer get --json`, and a get that must succeed.
#pragma once

#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "fileinfo/fileinfo.h"
#include "tests/support/cluster.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::testing {

// The test file and its .fileinfo (256 KiB chunks, so even small files have
// many of them).
struct TestFile {
  TempDir dir;
  std::string data, path, fileinfo;
  FileInfo info;
  TestFile(std::size_t size, std::uint64_t seed)
      : data(RandomBytes(size, seed)), path(dir.File("data.bin")), fileinfo(dir.File("data.bin.fileinfo")) {
    WriteTestFile(path, data);
    auto r = Run({BinPath("fileinfo"), "create", "-q", "--chunk-size", "256K", path});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto loaded = LoadFileInfo(fileinfo);
    REQUIRE(loaded.ok());
    info = std::move(*loaded);
  }
};

inline bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// The JSON events among `text` (stdout of `peer get --json`, possibly mixed
// with log lines); a line still being written is skipped.
inline std::vector<nlohmann::json> Events(const std::string& text) {
  std::vector<nlohmann::json> events;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] != '{') continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) events.push_back(std::move(j));
  }
  return events;
}

// The "end" event, which must be the last line.
inline nlohmann::json EndEvent(const std::string& text) {
  auto events = Events(text);
  REQUIRE_FALSE(events.empty());
  REQUIRE(events.back().value("event", "") == "end");
  return events.back();
}

// `peer get --json` by `getter` into `out` that must succeed: exit 0, the
// file byte-exact, no .partial left, an end event "done".
struct ExactGet {
  RunResult run;
  nlohmann::json end;
};
inline ExactGet GetExact(const Peer& getter, const TestFile& file, const std::string& out) {
  ExactGet g;
  g.run = getter.Cmd({"get", "--json", file.fileinfo, out});
  INFO(g.run.err);
  REQUIRE(g.run.exit_code == 0);
  CHECK(ReadTestFile(out) == file.data);
  CHECK_FALSE(Exists(out + ".partial"));
  g.end = EndEvent(g.run.out);
  CHECK(g.end["state"] == "done");
  return g;
}

// bytes_verified of the last progress event in a getter's log.
inline std::uint64_t VerifiedSoFar(const std::string& log_path) {
  auto events = Events(ReadTestFile(log_path));
  return events.empty() ? 0 : events.back().value("bytes_verified", std::uint64_t{0});
}

}  // namespace lanswarm::testing
