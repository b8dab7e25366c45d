// The serving side (peer/serve_session) behind a real SessionPool, asked by
// a client session that reads exactly as a downloader does: OPEN, REQUEST,
// CANCEL and their answers, the request limit, HAVE pushed to open slots,
// a file changed on disk, the once-before-twice rule of a whole copy and the
// upload cap, with the pool's and the cap's timers on a FakeClock.
#include <catch2/catch.hpp>

#include "fileinfo/scan.h"
#include "peer/serve_session.h"
#include "tests/support/session_harness.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::peer {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using testing::ConnectRecorder;
using testing::Frames;
using testing::Lines;
using testing::SessionLog;

namespace {

constexpr std::uint32_t kChunk = kMinChunkSize;
constexpr std::uint32_t kLast = 1000;  // the short last chunk, index 3

Config NoGrants() {
  Config c;
  c.upload_slots = 0;
  return c;
}

// One shared file of four chunks (three whole, one short) on disk, its
// ServeContext, and a SessionPool of ServeSessions listening on loopback.
struct Served {
  // `held`: one character per chunk, '1' for the verified ones.
  // `config`: NoGrants() unless a test says otherwise: these tests serve
  // downloaders as they ask (the grants have their own test).
  explicit Served(const std::string& held = "1111", Config config = NoGrants(), net::PoolLimits limits = {})
      : ctx(std::make_shared<ServeContext>(h.clock, config, registry)),
        pool(*h.loop, Options(), limits, [weak = std::weak_ptr<ServeContext>(ctx)](const net::SocketAddress&) {
          auto c = weak.lock();
          return c ? std::make_unique<ServeSession>(c) : nullptr;
        }) {
    testing::WriteTestFile(path, data);
    auto created = CreateFileInfo(path, kChunk);
    REQUIRE(created.ok());
    info = *created;
    REQUIRE(info.chunk_count() == held.size());
    SharedFile f;
    f.path = path;
    f.info = info;
    f.verified = Bitfield(info.chunk_count());
    for (std::uint32_t i = 0; i < held.size(); ++i) {
      if (held[i] == '1') f.verified.set(i);
    }
    ctx->registry.Put(std::move(f));
    // As the daemon does: note why, and stop serving the file.
    ctx->on_changed = [c = ctx.get(), changes = changes](SharedFile& f, const Status& why) {
      changes->push_back(why.message());
      f.changed = true;
      c->Close(f.info.id);
    };
    auto bound = pool.Listen(testing::AnyLoopbackPort());
    REQUIRE(bound.ok());
    address = *bound;
  }

  static net::SessionOptions Options() {
    net::SessionOptions o = testing::PeerOptions(2);
    return o;
  }

  // A downloader's session, ready, with the file open in slot 1 unless not `open`.
  std::shared_ptr<SessionLog> Client(bool open = true) {
    net::SessionOptions o = testing::PeerOptions(1);
    o.exact_reads = true;
    auto c = ConnectRecorder(*h.loop, address, o);
    REQUIRE(h.RunUntil([&] { return c->ready; }));
    if (open) REQUIRE(Exchange(*c, Frames({proto::Open{1, info.id}}), 1) == Lines{"BITFIELD 1 " + held_bits()});
    return c;
  }

  // Sends `frames` and runs until `replies` more events (and every chunk
  // begun) have arrived; returns those events.
  Lines Exchange(SessionLog& c, Bytes frames, std::size_t replies) {
    const std::size_t before = c.events.size();
    c.session->SendFrames(std::move(frames));
    REQUIRE(h.RunUntil([&] { return c.events.size() >= before + replies && ChunksDone(c); }));
    return Lines(c.events.begin() + static_cast<std::ptrdiff_t>(before), c.events.end());
  }
  // Every CHUNK header recorded has had its data.
  static bool ChunksDone(const SessionLog& c) {
    return static_cast<std::size_t>(std::count_if(c.events.begin(), c.events.end(), [](const std::string& e) {
             return e.starts_with("CHUNK ");
           })) == c.chunks.size();
  }

  std::string held_bits() { return testing::BitString(info.chunk_count(), ctx->registry.Find(info.id)->verified.bytes()); }
  std::string bytes_of(std::uint32_t index) const { return data.substr(std::size_t{index} * kChunk, index == 3 ? kLast : kChunk); }
  static std::string ChunkLine(std::uint32_t index, std::uint16_t slot = 1) {
    return fmt::format("CHUNK {} {} {}", slot, index, index == 3 ? kLast : kChunk);
  }

  testing::TempDir dir;
  Registry registry;  // the node's, in the daemon; outlives the loop and so every session
  testing::SessionHarness h;
  const std::string path = dir.File("data");
  const std::string data = testing::RandomBytes(3 * kChunk + kLast, 11);
  FileInfo info;
  std::shared_ptr<std::vector<std::string>> changes = std::make_shared<std::vector<std::string>>();
  std::shared_ptr<ServeContext> ctx;
  net::SessionPool pool;
  net::SocketAddress address;
};

std::vector<proto::Message> Requests(std::initializer_list<std::uint32_t> indexes) {
  std::vector<proto::Message> out;
  for (std::uint32_t i : indexes) out.push_back(proto::Request{1, i});
  return out;
}

}  // namespace

TEST_CASE("serve: OPEN is answered with the BITFIELD of the verified chunks", "[serve]") {
  for (const std::string held : {"1111", "1011", "0001"}) {
    INFO(held);
    Served s(held);
    auto c = s.Client(false);
    CHECK(s.Exchange(*c, Frames({proto::Open{1, s.info.id}}), 1) == Lines{"BITFIELD 1 " + held});
  }
}

TEST_CASE("serve: REQUEST of a held chunk is answered with a CHUNK of its bytes as on disk", "[serve]") {
  Served s;
  auto c = s.Client();
  for (std::uint32_t index : {0u, 3u, 1u}) {
    INFO("chunk " << index);
    CHECK(s.Exchange(*c, Frames({proto::Request{1, index}}), 1) == Lines{Served::ChunkLine(index)});
    CHECK(c->chunks.back() == s.bytes_of(index));
  }
  CHECK(s.ctx->uploaded_bytes == 2 * kChunk + kLast);
}

TEST_CASE("serve: what cannot be served is REJECTed with the reason, and the session stays", "[serve]") {
  struct Row {
    const char* what;
    proto::Message sent;
    const char* reply;
  };
  const std::vector<Row> rows = {
      {"a chunk not held", proto::Request{1, 1}, "REJECT 1 1 missing"},
      {"an index past the last chunk", proto::Request{1, 4}, "REJECT 1 4 out_of_range"},
      {"a slot never opened", proto::Request{9, 0}, "REJECT 9 0 not_open"},
      {"OPEN of a file not shared here", proto::Open{2, FileId{}}, "REJECT 2 file unknown_file"},
  };
  Served s("1011");
  auto c = s.Client();
  for (const Row& row : rows) {
    INFO(row.what);
    CHECK(s.Exchange(*c, Frames({row.sent}), 1) == Lines{row.reply});
  }
  // Still served on the same connection.
  CHECK(s.Exchange(*c, Frames({proto::Request{1, 2}}), 1) == Lines{Served::ChunkLine(2)});
}

TEST_CASE("serve: requests past max_requests_per_connection queued are REJECTed busy", "[serve][limits]") {
  Config config = NoGrants();
  config.limits.max_requests_per_connection = 2;
  Served s("1111", config);
  auto c = s.Client();
  // Chunk 0 is being read at once; 1 and 2 wait in the queue, so 3 is one
  // too many. The REJECT leaves while chunk 0 is still being read.
  CHECK(s.Exchange(*c, Frames(Requests({0, 1, 2, 3})), 4) ==
        Lines{"REJECT 1 3 busy", Served::ChunkLine(0), Served::ChunkLine(1), Served::ChunkLine(2)});
}

TEST_CASE("serve: CANCEL removes a queued request", "[serve]") {
  Served s;
  auto c = s.Client();
  std::vector<proto::Message> sent = Requests({0, 1, 2});
  sent.push_back(proto::Cancel{1, 1});
  sent.push_back(proto::Request{1, 3});
  // Chunk 3 comes after where chunk 1 would have been: it was not sent.
  CHECK(s.Exchange(*c, Frames(sent), 3) == Lines{Served::ChunkLine(0), Served::ChunkLine(2), Served::ChunkLine(3)});
  CHECK(c->chunks == Lines{s.bytes_of(0), s.bytes_of(2), s.bytes_of(3)});
}

TEST_CASE("serve: BroadcastHave pushes HAVE to each session with the file open, on its slot", "[serve]") {
  Served s("1011");
  auto opened = s.Client();
  auto other = s.Client(false);
  s.ctx->BroadcastHave(s.info.id, 1);
  REQUIRE(s.h.RunUntil([&] { return opened->last() == "HAVE 1 1"; }));
  s.h.Run(10);
  CHECK(other->events == Lines{"ready"});
}

TEST_CASE("serve: a chunk whose bytes changed on disk is REJECTed changed, and on_changed is told", "[serve]") {
  Served s;
  std::string changed = s.data;
  changed[kChunk + 17] ^= 0x40;  // chunk 1; same size, so nothing but the checksum tells
  testing::WriteTestFile(s.path, changed);
  auto c = s.Client();
  CHECK(s.Exchange(*c, Frames({proto::Request{1, 1}}), 1) == Lines{"REJECT 1 1 changed"});
  REQUIRE(s.changes->size() == 1);
  CHECK_THAT(s.changes->front(), Contains("chunk 1 no longer matches its checksum"));
  // The file is no longer served, not even its intact chunks.
  CHECK(s.Exchange(*c, Frames({proto::Request{1, 0}}), 1) == Lines{"REJECT 1 0 changed"});
  CHECK(s.Exchange(*c, Frames({proto::Open{2, s.info.id}}), 1) == Lines{"REJECT 2 file unknown_file"});
  CHECK(s.changes->size() == 1);
  CHECK(s.ctx->uploaded_bytes == 0);
}

TEST_CASE("serve: a whole copy sends each chunk once before any twice, counting peers still connected", "[serve]") {
  Served s;
  s.ctx->TrackSpread(*s.ctx->registry.Find(s.info.id));
  auto first = s.Client();
  auto second = s.Client();
  CHECK(s.Exchange(*first, Frames({proto::Request{1, 0}}), 1) == Lines{Served::ChunkLine(0)});
  CHECK(s.Exchange(*second, Frames({proto::Request{1, 0}}), 1) == Lines{"REJECT 1 0 elsewhere"});
  CHECK(s.Exchange(*second, Frames({proto::Request{1, 1}}), 1) == Lines{Served::ChunkLine(1)});
  // The only peer that got chunk 0 leaves: nobody may hold that copy now.
  first->session->Close();
  REQUIRE(s.h.RunUntil([&] { return s.pool.size() == 1; }));
  CHECK(s.Exchange(*second, Frames({proto::Request{1, 0}}), 1) == Lines{Served::ChunkLine(0)});
}

TEST_CASE("serve: the upload cap holds reads until the clock has paid the debt; meanwhile the session is busy",
          "[serve][timeout]") {
  // 256 KiB/s with the 1 MiB burst ServeContext gives it: four chunks use
  // the burst, a fifth goes into debt, a sixth waits one second.
  Config config = NoGrants();
  config.upload_rate = kChunk;
  Served s("1111", config, {.idle_timeout = 60s});
  auto c = s.Client();
  const std::vector<proto::Message> six = Requests({0, 0, 0, 0, 0, 0});
  CHECK(s.Exchange(*c, Frames(six), 5).size() == 5);
  s.h.Run(20);
  CHECK(c->chunks.size() == 5);
  // A minute of silence from the client, but a chunk is owed: not idle.
  s.h.clock.Advance(60s);
  s.pool.CheckTimeouts();
  REQUIRE(s.h.RunUntil([&] { return c->chunks.size() == 6; }));
  CHECK_FALSE(c->closed);
  // Nothing owed any more: now it is idle.
  s.h.clock.Advance(60s);
  s.pool.CheckTimeouts();
  REQUIRE(s.h.RunUntil([&] { return c->closed; }));
  CHECK_THAT(c->why.message(), Contains("closed by peer"));
}

TEST_CASE("serve: with upload_slots, downloaders that say their interest are granted chunks in turns",
          "[serve][grants]") {
  Config config;
  config.upload_slots = 1;
  Served s("1111", config);
  auto a = s.Client(false);
  auto b = s.Client(false);
  CHECK(s.Exchange(*a, Frames({proto::Open{1, s.info.id}}), 1) == Lines{"BITFIELD 1 1111 grants"});
  CHECK(s.Exchange(*b, Frames({proto::Open{1, s.info.id}}), 1) == Lines{"BITFIELD 1 1111 grants"});
  // A turn: one grant at a time, the next once the chunk has left.
  CHECK(s.Exchange(*a, Frames({proto::Interest{1, proto::kInterested}}), 1) == Lines{"GRANT 1"});
  // The one slot is a's: b waits, and its REQUEST without a grant is refused.
  CHECK(s.Exchange(*b, Frames({proto::Interest{1, proto::kInterested}, proto::Request{1, 0}}), 1) ==
        Lines{"REJECT 1 0 busy"});
  // a uses a grant; once the chunk has left, its turn grants it another.
  CHECK(s.Exchange(*a, Frames({proto::Request{1, 2}}), 1) == Lines{Served::ChunkLine(2)});
  REQUIRE(s.h.RunUntil([&] { return a->events.back() == "GRANT 1"; }));
  CHECK(b->events.back() == "REJECT 1 0 busy");
  // Passing ends a's turn: b's begins at once, and a waits behind it.
  const std::size_t b_before = b->events.size();
  CHECK(s.Exchange(*a, Frames({proto::Interest{1, proto::kInterested | proto::kPass}}), 0).empty());
  REQUIRE(s.h.RunUntil([&] { return b->events.size() == b_before + 1; }));
  CHECK(b->events.back() == "GRANT 1");
  CHECK(s.ctx->grants->busy() == 1);
  // A refused REQUEST keeps the grant for another.
  CHECK(s.Exchange(*b, Frames({proto::Request{1, 7}}), 1) == Lines{"REJECT 1 7 out_of_range"});
  CHECK(s.Exchange(*b, Frames({proto::Request{1, 1}}), 1) == Lines{Served::ChunkLine(1)});
  // A downloader that never says its interest is served as it asks.
  auto c = s.Client(false);
  CHECK(s.Exchange(*c, Frames({proto::Open{1, s.info.id}, proto::Request{1, 3}}), 2) ==
        Lines{"BITFIELD 1 1111 grants", Served::ChunkLine(3)});
  // Closing b ends its turn: a's comes.
  const std::size_t before = a->events.size();
  b->session->Close();
  REQUIRE(s.h.RunUntil([&] { return a->events.size() > before && a->events.back() == "GRANT 1"; }));
}

}  // namespace lanswarm::peer
