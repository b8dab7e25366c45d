// peer/node: every change of a shared file's state, and what it announces
// (HAVE, a stale file handle, a spread to start, a report due), without
// sockets: a recording NodeEvents stands in for the serving side and link.
#include <catch2/catch.hpp>

#include "peer/node.h"
#include "peer/share.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_identity.h"

namespace lanswarm::peer {

namespace {

constexpr std::size_t kChunk = 256 * 1024;

struct Recorder final : NodeEvents {
  std::vector<std::pair<FileId, std::uint32_t>> gained;
  std::vector<FileId> reset;
  std::vector<std::string> shared;
  int reports = 0;
  void OnChunkGained(const FileId& id, std::uint32_t index) override { gained.emplace_back(id, index); }
  void OnFileReset(const FileId& id) override { reset.push_back(id); }
  void OnFileShared(const SharedFile& f) override { shared.push_back(f.path); }
  void ReportNow() override { ++reports; }
};

// A node with a state dir, and a file of three chunks ready to share.
struct Fixture {
  testing::TempDir dir;
  Recorder events;
  Node node{Config{}, std::make_shared<const auth::Identity>(testing::TestIdentity(1)), std::make_shared<auth::KeyRing>(), dir.File("registry.json"), Registry{}};
  SharedFile file;
  Fixture() {
    testing::WriteTestFile(dir.File("data"), testing::RandomBytes(3 * kChunk, 5));
    auto f = PrepareShare(dir.File("data"), "");
    REQUIRE(f.ok());
    file = *f;
    node.SetEvents(&events);
  }
  bool Saved() {
    std::vector<std::string> warnings;
    auto r = Registry::Load(dir.File("registry.json"), &warnings);
    return r.ok() && r->Find(file.info.id) != nullptr;
  }
};

}  // namespace

TEST_CASE("node: share saves, resets the file's handles, may spread it, and reports", "[node]") {
  Fixture fx;
  REQUIRE(fx.node.Share(fx.file).ok());
  CHECK(fx.Saved());
  CHECK(fx.events.reset == std::vector<FileId>{fx.file.info.id});
  CHECK(fx.events.shared == std::vector<std::string>{fx.file.path});
  CHECK(fx.events.reports == 1);
  CHECK(fx.events.gained.empty());
}

TEST_CASE("node: sharing a repaired copy announces only the chunks gained", "[node]") {
  Fixture fx;
  SharedFile damaged = fx.file;
  damaged.verified.clear(1);
  REQUIRE(fx.node.Share(damaged).ok());
  REQUIRE(fx.node.Share(fx.file).ok());
  REQUIRE(fx.events.gained.size() == 1);
  CHECK(fx.events.gained[0].second == 1);
}

TEST_CASE("node: a file changed on disk since verified is refused", "[node]") {
  Fixture fx;
  SharedFile f = fx.file;
  f.disk_size += 1;
  Status s = fx.node.Share(f);
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("share it again once it is still") != std::string::npos);
  CHECK(fx.events.reports == 0);
}

TEST_CASE("node: unshare by id, path or .fileinfo; an unknown target is refused", "[node]") {
  Fixture fx;
  for (const std::string& target : {fx.file.info.id.ToHex(), fx.file.path, fx.file.fileinfo_path}) {
    INFO(target);
    REQUIRE(fx.node.Share(fx.file).ok());
    const int before = fx.events.reports;
    REQUIRE(fx.node.Unshare(target).ok());
    CHECK(fx.node.registry().Find(fx.file.info.id) == nullptr);
    CHECK(fx.events.reports == before + 1);
  }
  Status s = fx.node.Unshare("nothing");
  CHECK_FALSE(s.ok());
  CHECK(s.message() == "not shared: nothing");
}

TEST_CASE("node: CheckDisk stops serving a vanished file, once", "[node]") {
  Fixture fx;
  REQUIRE(fx.node.Share(fx.file).ok());
  CHECK_FALSE(fx.node.CheckDisk());
  REQUIRE(::unlink(fx.file.path.c_str()) == 0);
  CHECK(fx.node.CheckDisk());
  CHECK(fx.node.registry().Find(fx.file.info.id)->state() == proto::FileState::kGone);
  CHECK_FALSE(fx.node.CheckDisk());  // already stopped
}

TEST_CASE("node: a download is a holder at once, reports its first chunk, and is shared whole at the end",
          "[node]") {
  Fixture fx;
  const FileId id = fx.file.info.id;
  fx.node.BeginDownload(fx.dir.File("out.partial"), fx.file.fileinfo_path, fx.file.info, Bitfield(3));
  const SharedFile* f = fx.node.registry().Find(id);
  REQUIRE(f != nullptr);
  CHECK(f->downloading);
  CHECK(f->state() == proto::FileState::kPartial);
  CHECK(fx.events.reports == 1);
  fx.node.ChunkVerified(id, 2);
  CHECK(fx.events.reports == 2);  // 0 -> 1 chunk: report now
  fx.node.ChunkVerified(id, 0);
  CHECK(fx.events.reports == 2);  // later chunks only HAVE
  CHECK(fx.events.gained.size() == 2);
  CHECK_FALSE(fx.Saved());  // a download in progress is never saved
  fx.node.CommitDownload(id, fx.file.path);  // the data is where the test file is
  f = fx.node.registry().Find(id);
  CHECK_FALSE(f->downloading);
  CHECK(f->state() == proto::FileState::kWhole);
  CHECK(f->path == fx.file.path);
  CHECK(fx.Saved());
  CHECK(fx.events.reports == 3);
}

}  // namespace lanswarm::peer
