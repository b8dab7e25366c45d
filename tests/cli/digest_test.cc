// `fileinfo create --digest sha256|blake2b` end to end, as processes on
// loopback: such a file is shared and downloaded byte-exact; a cluster
// member serving chunks crafted to collide under XXH3 is refused under
// SHA-256 (and, the reason for the option, accepted under XXH3); a resumed
// SHA-256 download fetches a damaged chunk again and keeps the rest.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "fileinfo/fileinfo.h"
#include "tests/support/cluster.h"
#include "tests/support/get_fixtures.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/xxh3_collision.h"

namespace lanswarm::testing {

using namespace std::chrono_literals;

namespace {

constexpr std::size_t kChunk = 256 * 1024;
constexpr std::size_t kMiB = 1024 * 1024;

// `chunks` whole chunks of random bytes, each made ready for an XXH3 twin
// (tests/support/xxh3_collision.h): what a member who authored the file and
// means to serve another version later would publish.
std::string TwinReady(std::size_t chunks, std::uint64_t seed) {
  std::string data = RandomBytes(chunks * kChunk, seed);
  for (std::size_t c = 0; c < chunks; ++c) {
    std::string chunk = data.substr(c * kChunk, kChunk);
    MakeXxh3Twin(&chunk);
    data.replace(c * kChunk, kChunk, chunk);
  }
  return data;
}

// What the lying member serves for chunk `index`: its twin, which has the
// real chunk's XXH3-64 and differs from it in 8 bytes.
FakeHolder::Payload Twins(const std::string& data) {
  return [&data](std::uint32_t index, std::uint32_t len) {
    std::string chunk = data.substr(std::size_t{index} * kChunk, len);
    return MakeXxh3Twin(&chunk);  // already ready: `chunk` itself is unchanged
  };
}

RunResult Fileinfo(std::vector<std::string> args) {
  args.insert(args.begin(), BinPath("fileinfo"));
  return Run(args);
}

}  // namespace

TEST_CASE("digest: a SHA-256 and a BLAKE2b file are shared on one peer and downloaded byte-exact on another",
          "[get][digest]") {
  struct Row {
    std::string digest;
    bool through_daemon;  // the getter's own daemon runs the download, or the CLI does
  };
  for (const Row& row : {Row{"sha256", false}, Row{"blake2b", true}}) {
    INFO(row.digest);
    MiniCoordinator co;
    TestFile file(6 * kMiB + 4321, 40, row.digest);
    REQUIRE(DigestName(file.info.digest()) == row.digest);
    Peer holder(co.port);
    holder.Start();
    holder.Share(file.path, file.fileinfo);
    REQUIRE(WaitFor([&] { return co.Query(file.info.id).size() == 1; }, 5s));

    Peer getter(co.port);
    if (row.through_daemon) getter.Start();
    const std::string out = getter.dir.File("out.bin");
    auto r = getter.Cmd({"get", "--json", file.fileinfo, out});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(ReadTestFile(out) == file.data);
    CHECK_FALSE(Exists(out + ".partial"));
    const auto end = EndEvent(r.out);
    INFO(end.dump());
    CHECK(end["state"] == "done");
    CHECK(end["chunks_verified"] == file.info.chunk_count());
    CHECK(end["checksum_failures"] == 0);
    CHECK(Fileinfo({"verify", file.fileinfo, out}).exit_code == 0);
    if (row.through_daemon) {
      // The getter's daemon now serves the file whole, under the same id.
      CHECK(WaitFor([&] { return co.Lists(file.info.id, getter.port, proto::FileState::kWhole); }, 5s));
    }
  }
}

TEST_CASE("digest: under sha256 a member serving chunks that collide under XXH3 is refused and banned; the file "
          "is exact",
          "[get][digest][security]") {
  const std::string data = TwinReady(32, 41);
  HonestAndLiar swarm(data, "sha256", Twins(data));
  Peer getter(swarm.co.port);
  const std::string out = getter.dir.File("out.bin");
  auto r = getter.Cmd({"get", "--json", swarm.file.fileinfo, out});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(ReadTestFile(out) == data);
  CHECK(swarm.fake->requests() >= 3);
  const auto end = EndEvent(r.out);
  INFO(end.dump());
  CHECK(end["state"] == "done");
  CHECK(end["checksum_failures"].get<std::uint64_t>() >= 3);
  CHECK(end["banned_peers"] == 1);
  CHECK(Has(r.err, "banned peer 127.0.0.1:" + std::to_string(swarm.fake->port()) + " for data.bin"));
}

// Not a property to keep but the reason --digest exists: the same twins
// pass XXH3, so a getter of an XXH3 file keeps the member's version and
// `fileinfo verify` calls it whole.
TEST_CASE("digest: under xxh3 the same crafted chunks pass, and the getter keeps the member's version",
          "[get][digest][security]") {
  const std::string data = TwinReady(8, 42);
  MiniCoordinator co;
  TestFile file(data, "xxh3");
  FakeHolder fake(file.info, co.port, Twins(file.data));
  REQUIRE(WaitFor([&] { return co.Query(file.info.id).size() == 1; }, 5s));
  Peer getter(co.port);
  const std::string out = getter.dir.File("out.bin");
  auto r = getter.Cmd({"get", "--json", file.fileinfo, out});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string got = ReadTestFile(out);
  CHECK(got.size() == data.size());
  CHECK(got != data);
  CHECK(EndEvent(r.out)["checksum_failures"] == 0);
  auto v = Fileinfo({"verify", file.fileinfo, out});
  CHECK(v.exit_code == 0);
  CHECK(Has(v.out, "whole, 8 chunks ok"));
}

TEST_CASE("digest: peer share --digest makes the .fileinfo it needs with that digest; an unknown name exits 2",
          "[digest]") {
  MiniCoordinator co;
  Peer holder(co.port);
  holder.Start();
  TempDir dir;
  WriteTestFile(dir.File("d.bin"), RandomBytes(3 * kChunk + 1, 44));
  auto r = holder.Cmd({"share", "-q", "--digest", "blake2b", dir.File("d.bin")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto info = LoadFileInfo(dir.File("d.bin.fileinfo"));
  REQUIRE(info.ok());
  CHECK(info->digest() == DigestAlgorithm::kBlake2b);
  CHECK(WaitFor([&] { return co.Lists(info->id, holder.port, proto::FileState::kWhole); }, 5s));
  auto bad = holder.Cmd({"share", "--digest", "md5", dir.File("d.bin")});
  CHECK(bad.exit_code == 2);
  CHECK(Has(bad.err, "--digest: unknown digest \"md5\""));
  CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);
}

TEST_CASE("digest: a resumed SHA-256 download fetches a damaged and a missing chunk again and keeps the rest",
          "[get][digest]") {
  MiniCoordinator co;
  TestFile file(16 * kChunk, 43, "sha256");
  Peer holder(co.port);
  holder.Start();
  holder.Share(file.path, file.fileinfo);
  REQUIRE(WaitFor([&] { return co.Query(file.info.id).size() == 1; }, 5s));

  // What a killed getter could leave: every chunk written but chunk 5 with
  // one byte flipped and chunk 9 never written.
  Peer getter(co.port);
  const std::string out = getter.dir.File("out.bin");
  std::string partial = file.data;
  partial[5 * kChunk + 100] ^= 0x01;
  partial.replace(9 * kChunk, kChunk, std::string(kChunk, '\0'));
  WriteTestFile(out + ".partial", partial);

  const nlohmann::json end = GetExact(getter, file, out).end;
  INFO(end.dump());
  CHECK(end["resumed_chunks"] == 14);
  CHECK(end["bytes_received"] == 2 * kChunk);
}

}  // namespace lanswarm::testing
