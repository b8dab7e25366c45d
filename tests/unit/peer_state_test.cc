// The peer daemon's pure parts: registry, report contents, share
// preparation, change detection, and the timing helpers with a fake clock.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/backoff.h"
#include "common/bitfield.h"
#include "common/token_bucket.h"
#include "peer/config.h"
#include "peer/registry.h"
#include "peer/share.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::peer {

using namespace std::chrono_literals;
using testing::TempDir;

namespace {
constexpr std::size_t kChunk = 256 * 1024;
bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("Bitfield: set, clear, counts and the wire bytes", "[peer]") {
  Bitfield b(11);
  CHECK(b.none());
  b.set(0);
  b.set(10);
  b.set(10);
  CHECK(b.count_set() == 2);
  CHECK(b.bytes() == Bytes{0x01, 0x04});
  b.clear(0);
  CHECK_FALSE(b.has(0));
  Bitfield all(11, true);
  CHECK(all.all());
  CHECK(all.bytes() == Bytes{0xFF, 0x07});
  CHECK(Bitfield::FromBytes(11, Bytes{0xFF, 0x07}) == all);
  CHECK(Bitfield(0, true).all());
}

TEST_CASE("Backoff: grows to the cap with jitter, and resets", "[peer][clock]") {
  Backoff b(1s, 30s, 42);
  Clock::Duration longest{0};
  for (int i = 0; i < 10; ++i) {
    const auto w = b.Next();
    const auto ceiling = std::min<Clock::Duration>(30s, 1s * (1 << i));
    CHECK(w >= Clock::Duration::zero());
    CHECK(w <= ceiling);
    longest = std::max(longest, w);
  }
  CHECK(longest > 5s);  // the window did widen
  b.Reset();
  CHECK(b.Next() <= 1s);
  Backoff same(1s, 30s, 42), again(1s, 30s, 42);
  CHECK(same.Next() == again.Next());  // seeded: deterministic
}

TEST_CASE("ExponentialWait: doubles from the base up to the cap, whatever the count", "[peer][clock]") {
  CHECK(ExponentialWait(100ms, 1s, 0) == 100ms);
  CHECK(ExponentialWait(100ms, 1s, 3) == 800ms);
  CHECK(ExponentialWait(100ms, 1s, 4) == 1s);
  CHECK(ExponentialWait(1s, 30s, 1) == 2s);
  CHECK(ExponentialWait(1s, 30s, 5) == 30s);
  CHECK(ExponentialWait(1s, 30s, 1'000'000) == 30s);  // no overflow
  CHECK(ExponentialWait(1s, 30s, -1) == 1s);
  CHECK(ExponentialWait(Clock::Duration::zero(), 30s, 1'000'000) == Clock::Duration::zero());
}

TEST_CASE("TokenBucket: the cap allows a burst, then the rate", "[peer][clock]") {
  FakeClock clock;
  TokenBucket tb(clock, 1000, 500);  // 1000 B/s, 500 B burst
  CHECK(tb.Take(500) == Clock::Duration::zero());
  CHECK(tb.Take(250) == 250ms);  // in debt: wait a quarter second
  clock.Advance(100ms);
  CHECK(tb.Debt() == 150ms);
  clock.Advance(150ms);
  CHECK(tb.Debt() == Clock::Duration::zero());
  clock.Advance(10s);  // refills only up to the burst
  CHECK(tb.Take(500) == Clock::Duration::zero());
  CHECK(tb.Take(1) > Clock::Duration::zero());
  TokenBucket unlimited(clock, 0, 0);
  CHECK(unlimited.Take(1u << 30) == Clock::Duration::zero());
}

TEST_CASE("PrepareShare: a new file gets a .fileinfo and every chunk", "[peer]") {
  TempDir dir;
  testing::WriteTestFile(dir.File("a.bin"), testing::RandomBytes(3 * kChunk + 5, 1));
  auto f = PrepareShare(dir.File("a.bin"), "");
  REQUIRE(f.ok());
  CHECK(f->path == dir.File("a.bin"));
  CHECK(f->fileinfo_path == dir.File("a.bin.fileinfo"));
  CHECK(f->verified.all());
  CHECK(f->state() == proto::FileState::kWhole);
  CHECK(LoadFileInfo(f->fileinfo_path).ok());
  CHECK(CheckOnDisk(*f).ok());
}

TEST_CASE("PrepareShare: --digest makes a SHA-256 .fileinfo; an existing one keeps its own digest", "[peer][digest]") {
  TempDir dir;
  const std::string data = testing::RandomBytes(3 * kChunk + 5, 4);
  testing::WriteTestFile(dir.File("a.bin"), data);
  auto f = PrepareShare(dir.File("a.bin"), "", DigestAlgorithm::kSha256);
  REQUIRE(f.ok());
  CHECK(f->info.digest() == DigestAlgorithm::kSha256);
  CHECK(f->verified.all());
  CHECK(LoadFileInfo(f->fileinfo_path)->digest() == DigestAlgorithm::kSha256);
  // Verified against with its own digest, whether or not it is named again.
  CHECK(PrepareShare(dir.File("a.bin"), "")->verified.all());
  CHECK(PrepareShare(dir.File("a.bin"), "", DigestAlgorithm::kSha256)->verified.all());
  auto other = PrepareShare(dir.File("a.bin"), "", DigestAlgorithm::kBlake2b);
  CHECK(other.status().code() == Status::Code::kInvalidArgument);
  CHECK(Has(other.status().message(), "checks its chunks with sha256, not blake2b"));
}

TEST_CASE("PrepareShare: a damaged copy against its .fileinfo shares only good chunks", "[peer]") {
  TempDir dir;
  std::string data = testing::RandomBytes(4 * kChunk, 2);
  testing::WriteTestFile(dir.File("a.bin"), data);
  REQUIRE(PrepareShare(dir.File("a.bin"), "").ok());
  data[2 * kChunk + 9] ^= 1;
  testing::WriteTestFile(dir.File("copy.bin"), data);
  auto f = PrepareShare(dir.File("copy.bin"), dir.File("a.bin.fileinfo"));
  REQUIRE(f.ok());
  CHECK(f->verified.count_set() == 3);
  CHECK_FALSE(f->verified.has(2));
  CHECK(f->state() == proto::FileState::kPartial);
  // A file matching none of the fileinfo's chunks is refused.
  testing::WriteTestFile(dir.File("other.bin"), testing::RandomBytes(4 * kChunk, 3));
  auto other = PrepareShare(dir.File("other.bin"), dir.File("a.bin.fileinfo"));
  CHECK(Has(other.status().message(), "no chunk matches"));
  CHECK(PrepareShare(dir.File("missing.bin"), "").status().code() == Status::Code::kNotFound);
}

TEST_CASE("SharedFile: a download is partial from its first moment; a file with no chunk otherwise gone", "[peer]") {
  SharedFile f;
  f.verified = Bitfield(4);
  CHECK(f.state() == proto::FileState::kGone);
  f.downloading = true;  // peers connect now and learn its chunks from HAVE
  CHECK(f.state() == proto::FileState::kPartial);
  f.changed = true;
  CHECK(f.state() == proto::FileState::kGone);
  f.changed = false;
  f.verified = Bitfield(4, true);
  CHECK(f.state() == proto::FileState::kWhole);
}

TEST_CASE("CheckOnDisk: notices a vanished file and a modified one", "[peer]") {
  TempDir dir;
  testing::WriteTestFile(dir.File("a.bin"), testing::RandomBytes(kChunk, 4));
  auto f = PrepareShare(dir.File("a.bin"), "");
  REQUIRE(f.ok());
  SharedFile modified = *f;
  modified.disk_mtime_ns -= 1000;
  CHECK(Has(CheckOnDisk(modified).message(), "modified since it was verified"));
  SharedFile resized = *f;
  resized.disk_size += 1;
  CHECK(Has(CheckOnDisk(resized).message(), "size changed"));
  ::unlink(dir.File("a.bin").c_str());
  CHECK(Has(CheckOnDisk(*f).message(), "vanished"));
}

TEST_CASE("Registry: survives a save and a load, verified chunks included", "[peer]") {
  TempDir dir;
  testing::WriteTestFile(dir.File("a.bin"), testing::RandomBytes(3 * kChunk, 5));
  testing::WriteTestFile(dir.File("b.bin"), testing::RandomBytes(kChunk, 6));
  Registry r;
  auto a = PrepareShare(dir.File("a.bin"), "");
  auto b = PrepareShare(dir.File("b.bin"), "");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  a->verified.clear(1);
  r.Put(*a);
  r.Put(*b);
  REQUIRE(r.Save(dir.File("registry.json")).ok());
  std::vector<std::string> warnings;
  auto loaded = Registry::Load(dir.File("registry.json"), &warnings);
  REQUIRE(loaded.ok());
  CHECK(warnings.empty());
  REQUIRE(loaded->files().size() == 2);
  const SharedFile* la = loaded->Find(a->info.id);
  REQUIRE(la != nullptr);
  CHECK(la->path == a->path);
  CHECK(la->verified == a->verified);
  CHECK(la->disk_mtime_ns == a->disk_mtime_ns);
  CHECK(loaded->Remove(b->path));
  CHECK(loaded->Remove(a->info.id.ToHex()));
  CHECK_FALSE(loaded->Remove("nothing"));
}

TEST_CASE("Registry: missing is empty; damaged is an error; lost fileinfos are skipped", "[peer]") {
  TempDir dir;
  std::vector<std::string> warnings;
  auto empty = Registry::Load(dir.File("none.json"), &warnings);
  REQUIRE(empty.ok());
  CHECK(empty->files().empty());
  testing::WriteTestFile(dir.File("bad.json"), "{not json");
  CHECK(Has(Registry::Load(dir.File("bad.json"), &warnings).status().message(), "not a lanswarm registry"));

  testing::WriteTestFile(dir.File("a.bin"), testing::RandomBytes(kChunk, 7));
  auto a = PrepareShare(dir.File("a.bin"), "");
  REQUIRE(a.ok());
  Registry r;
  r.Put(*a);
  REQUIRE(r.Save(dir.File("r.json")).ok());
  ::unlink(a->fileinfo_path.c_str());
  auto loaded = Registry::Load(dir.File("r.json"), &warnings);
  REQUIRE(loaded.ok());
  CHECK(loaded->files().empty());
  REQUIRE(warnings.size() == 1);
  CHECK(Has(warnings[0], "no longer sharing"));
}

TEST_CASE("BuildReport: 2 whole, 1 partial, 0 changed or empty, port only", "[peer]") {
  auto file = [](std::uint8_t n, std::uint32_t chunks) {
    SharedFile f;
    f.info.id.bytes.fill(n);
    f.info.chunks.Resize(chunks);
    f.verified = Bitfield(chunks, true);
    return f;
  };
  Registry r;
  r.Put(file(1, 4));
  SharedFile partial = file(2, 4);
  partial.verified.clear(3);
  r.Put(partial);
  SharedFile changed = file(3, 4);
  changed.changed = true;
  r.Put(changed);
  SharedFile none = file(4, 4);
  none.verified = Bitfield(4);
  r.Put(none);
  const proto::Report rep = BuildReport(r, 6882);
  CHECK(rep.listen.family == 0);
  CHECK(rep.listen.port == 6882);
  REQUIRE(rep.files.size() == 4);
  CHECK(rep.files[0].state == proto::FileState::kWhole);
  CHECK(rep.files[1].state == proto::FileState::kPartial);
  CHECK(rep.files[2].state == proto::FileState::kGone);
  CHECK(rep.files[3].state == proto::FileState::kGone);
}

TEST_CASE("peer config: defaults, sizes, shared files and errors", "[peer]") {
  TempDir dir;
  testing::WriteTestFile(dir.File("p.toml"),
                         "coordinator = \"10.0.0.1:6881\"\nupload_rate = \"100M\"\nshared = [\"/srv/a.iso\"]\n"
                         "simulated_latency_ms = 5\ndownload_peers = 12\n");
  auto c = LoadConfig(dir.File("p.toml"));
  REQUIRE(c.ok());
  CHECK(c->coordinator == "10.0.0.1:6881");
  CHECK(c->listen == "0.0.0.0:6882");
  CHECK(c->upload_rate == 100u << 20);
  CHECK(c->shared == std::vector<std::string>{"/srv/a.iso"});
  CHECK(c->simulated_latency == 5ms);
  CHECK(c->download_peers == 12);
  testing::WriteTestFile(dir.File("q.toml"), "upload_rate = 1000\n");
  CHECK(LoadConfig(dir.File("q.toml"))->upload_rate == 1000);
  testing::WriteTestFile(dir.File("bad.toml"), "upload_rate = \"fast\"\n");
  CHECK(Has(LoadConfig(dir.File("bad.toml")).status().message(), "key 'upload_rate'"));
  testing::WriteTestFile(dir.File("typo.toml"), "listne = \"x\"\n");
  CHECK(Has(LoadConfig(dir.File("typo.toml")).status().message(), "key 'listne': unknown key"));
  testing::WriteTestFile(dir.File("zero.toml"), "download_peers = 0\n");
  CHECK(Has(LoadConfig(dir.File("zero.toml")).status().message(), "key 'download_peers'"));
  CHECK(c->upload_slots == 2);
  testing::WriteTestFile(dir.File("slots.toml"), "upload_slots = 0\n");
  CHECK(LoadConfig(dir.File("slots.toml"))->upload_slots == 0);
  testing::WriteTestFile(dir.File("slots65.toml"), "upload_slots = 65\n");
  CHECK(Has(LoadConfig(dir.File("slots65.toml")).status().message(), "key 'upload_slots'"));
  CHECK(c->ban_after_bad_chunks == 3);
  CHECK(c->ban_cooldown == 600s);
  testing::WriteTestFile(dir.File("ban.toml"), "ban_after_bad_chunks = 5\nban_cooldown = 60\n");
  CHECK(LoadConfig(dir.File("ban.toml"))->ban_after_bad_chunks == 5);
  CHECK(LoadConfig(dir.File("ban.toml"))->ban_cooldown == 60s);
  testing::WriteTestFile(dir.File("k0.toml"), "ban_after_bad_chunks = 0\n");
  CHECK(Has(LoadConfig(dir.File("k0.toml")).status().message(), "key 'ban_after_bad_chunks': 0 is out of range [1, 1000]"));
  CHECK(c->ban_after_stalls == 3);
  testing::WriteTestFile(dir.File("stalls.toml"), "ban_after_stalls = 7\n");
  CHECK(LoadConfig(dir.File("stalls.toml"))->ban_after_stalls == 7);
  testing::WriteTestFile(dir.File("s0.toml"), "ban_after_stalls = 0\n");
  CHECK(Has(LoadConfig(dir.File("s0.toml")).status().message(), "key 'ban_after_stalls': 0 is out of range [1, 1000]"));
  testing::WriteTestFile(dir.File("cool.toml"), "ban_cooldown = \"10m\"\n");
  CHECK(Has(LoadConfig(dir.File("cool.toml")).status().message(), "key 'ban_cooldown'"));
  testing::WriteTestFile(dir.File("long.toml"), "ban_cooldown = 604801\n");
  CHECK(Has(LoadConfig(dir.File("long.toml")).status().message(), "key 'ban_cooldown': 604801 is out of range"));
  testing::WriteTestFile(dir.File("rel.toml"), "state_dir = \"relative\"\n");
  CHECK(Has(LoadConfig(dir.File("rel.toml")).status().message(), "must be an absolute path"));
}

}  // namespace lanswarm::peer

#include "peer/report_schedule.h"

namespace lanswarm::peer {

TEST_CASE("ReportSchedule: at HELLO, then every interval, at once after a change", "[peer][clock]") {
  FakeClock clock;
  ReportSchedule s(clock, 10s);
  CHECK_FALSE(s.Due());  // not connected
  s.OnConnected();
  CHECK(s.Due());
  s.OnSent();
  CHECK_FALSE(s.Due());
  clock.Advance(10s - 1ns);
  CHECK_FALSE(s.Due());
  clock.Advance(1ns);
  CHECK(s.Due());  // exactly one interval after the last report
  s.OnSent();
  clock.Advance(3s);
  s.OnChange();  // a file was shared: report now, not in 7 s
  CHECK(s.Due());
  s.OnSent();
  clock.Advance(9s);
  CHECK_FALSE(s.Due());
  s.OnDisconnected();
  clock.Advance(1h);
  CHECK_FALSE(s.Due());  // nothing to send to
  s.OnChange();
  CHECK_FALSE(s.Due());
  s.OnConnected();
  CHECK(s.Due());
}

}  // namespace lanswarm::peer
