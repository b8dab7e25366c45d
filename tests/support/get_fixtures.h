// Fixtures of the CLI tests of `peer get`: a test file with its .fileinfo
// (any digest), the JSON events of `peer get --json`, a get that must
// succeed, and an honest holder next to a lying one.
#pragma once

#include <unistd.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "fileinfo/fileinfo.h"
#include "tests/support/cluster.h"
#include "tests/support/fake_holder.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::testing {

// The test file and its .fileinfo made by `fileinfo create --digest`
// (256 KiB chunks, so even small files have many of them).
struct TestFile {
  TempDir dir;
  std::string data, path, fileinfo;
  FileInfo info;
  TestFile(std::size_t size, std::uint64_t seed, const std::string& digest = "xxh3")
      : TestFile(RandomBytes(size, seed), digest) {}
  TestFile(std::string bytes, const std::string& digest)
      : data(std::move(bytes)), path(dir.File("data.bin")), fileinfo(dir.File("data.bin.fileinfo")) {
    WriteTestFile(path, data);
    auto r = Run({BinPath("fileinfo"), "create", "-q", "--chunk-size", "256K", "--digest", digest, path});
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

// A coordinator, an honest holder (slow, so the liar surely gets requests)
// and a FakeHolder that sends corrupt chunks (or what `payload` makes),
// both listed as holders.
struct HonestAndLiar {
  MiniCoordinator co;
  TestFile file;
  Peer honest;
  std::unique_ptr<FakeHolder> fake;
  HonestAndLiar(std::size_t size, std::uint64_t seed) : HonestAndLiar(RandomBytes(size, seed), "xxh3") {}
  // The file's bytes, its --digest, and what the liar serves.
  HonestAndLiar(std::string data, const std::string& digest, FakeHolder::Payload payload = nullptr)
      : file(std::move(data), digest), honest(co.port, "upload_rate = \"2M\"\n") {
    honest.Start();
    honest.Share(file.path, file.fileinfo);
    fake = std::make_unique<FakeHolder>(file.info, co.port, std::move(payload));
    REQUIRE(WaitFor([&] { return co.Query(file.info.id).size() == 2; }, std::chrono::seconds(5)));
  }
};

}  // namespace lanswarm::testing
