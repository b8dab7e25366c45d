// The downloading side (peer/fetch_session) against a scripted holder: a
// recording session in a SessionPool that the test makes send BITFIELD,
// HAVE, REJECT and CHUNKs, right or wrong. Every event FetchSession reports
// lands in a recording FetchEvents, one line each.
#include <cstring>

#include <catch2/catch.hpp>

#include "fileinfo/chunk_hasher.h"
#include "peer/fetch_session.h"
#include "tests/support/session_harness.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::peer {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using testing::Lines;
using testing::RecordingPool;
using testing::SessionHarness;
using testing::SessionLog;

namespace {

constexpr PeerKey kKey = 7;
constexpr std::uint32_t kPiece = 1u << 20;  // FetchSession's piece size
constexpr std::uint32_t kChunk = 2 * kPiece;

// What FetchSession told the downloader, one line per event.
struct RecordingEvents : FetchEvents {
  Lines events;
  FetchSession* session = nullptr;  // from OnFetchConnected to OnFetchClosed
  bool closed = false;
  std::string received;             // the pieces' bytes, appended
  bool keep_chunk = true;           // what OnFetchChunkStart answers
  bool keep_pieces = true;          // what OnFetchPiece answers

  void OnFetchConnected(PeerKey key, FetchSession* s) override {
    CHECK(key == kKey);
    session = s;
    events.push_back("connected");
  }
  void OnFetchBitfield(PeerKey, const Bitfield& has, bool gated) override {
    events.push_back("bitfield " + testing::BitString(has.size(), has.bytes()) + (gated ? " gated" : ""));
  }
  void OnFetchGrant(PeerKey) override { events.push_back("grant"); }
  void OnFetchHave(PeerKey, std::uint32_t index) override { events.push_back(fmt::format("have {}", index)); }
  bool OnFetchChunkStart(PeerKey, std::uint32_t index) override {
    events.push_back(fmt::format("start {}", index));
    return keep_chunk;
  }
  bool OnFetchPiece(PeerKey, std::uint32_t index, std::uint32_t offset, const std::uint8_t* data,
                    std::size_t len) override {
    events.push_back(fmt::format("piece {} {} {}", index, offset, len));
    received.append(reinterpret_cast<const char*>(data), len);
    return keep_pieces;
  }
  void OnFetchChunkDone(PeerKey, std::uint32_t index, bool good) override {
    events.push_back(fmt::format("done {} {}", index, good ? "good" : "bad"));
  }
  void OnFetchReject(PeerKey, std::uint32_t index, proto::RejectReason why) override {
    events.push_back(fmt::format("reject {} {}", index == proto::kWholeFile ? "file" : std::to_string(index),
                                 testing::RejectReasonName(why)));
  }
  void OnFetchClosed(PeerKey key, const Status& why) override {
    CHECK(key == kKey);
    session = nullptr;
    closed = true;
    events.push_back("closed: " + (why.ok() ? std::string("ok") : why.message()));
  }
};

// A file of two chunks (2 MiB, then 1 MiB) described, not stored, its chunks
// checked with `digest`: the holder sends slices of `data`; and a
// FetchSession connected to a holder.
struct Fetching {
  explicit Fetching(DigestAlgorithm digest = kDefaultDigest) : holder(*h.loop, HolderOptions()) {
    auto file = std::make_shared<FileInfo>();
    file->chunks = ChunkDigestList(digest);
    file->name = "f";
    file->size = data.size();
    file->chunk_size = kChunk;
    for (std::uint32_t i = 0; i < 2; ++i) file->chunks.Append(HashChunk(digest, data.data() + i * kChunk, Length(i)));
    file->id.bytes.fill(0x5a);
    info = file;
    FetchSession::Start(*h.loop, holder.address, 2s,
                        std::make_unique<FetchSession>(events, kKey, testing::PeerHello(2).peer_id, nullptr,
                                                       std::make_shared<auth::KeyRing>(), info));
    REQUIRE(h.RunUntil([&] { return events->session != nullptr && !holder.accepted->empty() && !holder.at(0).messages.empty(); }));
  }

  static net::SessionOptions HolderOptions() {
    net::SessionOptions o = testing::PeerOptions(2);
    return o;
  }
  static std::uint32_t Length(std::uint32_t index) { return index == 0 ? kChunk : kPiece; }
  SessionLog& holder_log() { return holder.at(0); }
  net::Session& holder_session() { return *holder.at(0).session; }

  // The holder sends a CHUNK with `header` and `header.length` bytes of
  // `bytes` from `offset`.
  void SendChunk(const proto::ChunkHeader& header, const std::string& bytes, std::size_t offset) {
    auto buf = std::make_shared<AlignedBuffer>(header.length);
    std::memcpy(buf->data(), bytes.data() + offset, std::min<std::size_t>(header.length, bytes.size() - offset));
    holder_session().SendChunk(header, std::move(buf), 0);
  }
  // Runs until the downloader has seen `n` more events; returns them.
  Lines Expect(std::size_t n) {
    const std::size_t before = seen;
    REQUIRE(h.RunUntil([&] { return events->events.size() >= before + n; }));
    seen = events->events.size();
    return Lines(events->events.begin() + static_cast<std::ptrdiff_t>(before), events->events.end());
  }

  SessionHarness h;
  RecordingPool holder;
  const std::string data = testing::RandomBytes(kChunk + kPiece, 5);
  std::shared_ptr<const FileInfo> info;
  std::shared_ptr<RecordingEvents> events = std::make_shared<RecordingEvents>();
  std::size_t seen = 1;  // "connected"
};

}  // namespace

TEST_CASE("fetch: OPEN of the file goes out once the handshake is done, then OnFetchConnected", "[fetch]") {
  Fetching f;
  CHECK(f.events->events == Lines{"connected"});
  CHECK(f.holder_log().events == Lines{"ready", "OPEN 1"});
  CHECK(std::get<proto::Open>(f.holder_log().messages[0]).file == f.info->id);
}

TEST_CASE("fetch: BITFIELD, HAVE and REJECT reach FetchEvents as they arrive", "[fetch]") {
  Fetching f;
  f.holder_session().SendFrames(testing::Frames({
      proto::Bitfield{1, 2, Bytes{0x01}},
      proto::Have{1, 1},
      proto::Reject{1, 0, proto::RejectReason::kBusy},
      proto::Reject{1, proto::kWholeFile, proto::RejectReason::kUnknownFile},
  }));
  CHECK(f.Expect(4) == Lines{"bitfield 10", "have 1", "reject 0 busy", "reject file unknown_file"});
}

TEST_CASE("fetch: Request and Cancel go out as REQUEST and CANCEL on the file's slot", "[fetch]") {
  Fetching f;
  f.events->session->Request({1, 0});
  f.events->session->Cancel(1);
  REQUIRE(f.h.RunUntil([&] { return f.holder_log().events.size() == 5; }));
  CHECK(f.holder_log().events == Lines{"ready", "OPEN 1", "REQUEST 1 1", "REQUEST 1 0", "CANCEL 1 1"});
}

TEST_CASE("fetch: a CHUNK arrives as its start, 1 MiB pieces with their offsets, then done", "[fetch]") {
  struct Row {
    std::uint32_t index;
    Lines events;
  };
  const std::vector<Row> rows = {
      {0, {"start 0", "piece 0 0 1048576", "piece 0 1048576 1048576", "done 0 good"}},
      {1, {"start 1", "piece 1 0 1048576", "done 1 good"}},
  };
  Fetching f;
  for (const Row& row : rows) {
    INFO("chunk " << row.index);
    f.events->received.clear();
    f.SendChunk({1, row.index, Fetching::Length(row.index)}, f.data, std::size_t{row.index} * kChunk);
    CHECK(f.Expect(row.events.size()) == row.events);
    CHECK(f.events->received == f.data.substr(std::size_t{row.index} * kChunk, Fetching::Length(row.index)));
  }
}

TEST_CASE("fetch: a CHUNK with one byte wrong is done, not good", "[fetch]") {
  Fetching f;
  std::string bad = f.data;
  bad[kChunk - 1] ^= 1;  // the last byte of chunk 0's second piece
  f.SendChunk({1, 0, kChunk}, bad, 0);
  CHECK(f.Expect(4).back() == "done 0 bad");
  // The session goes on: the next chunk is good.
  f.SendChunk({1, 1, kPiece}, f.data, kChunk);
  CHECK(f.Expect(3).back() == "done 1 good");
}

TEST_CASE("fetch: a CHUNK of a SHA-256 or BLAKE2b file is checked with that digest across its pieces", "[fetch]") {
  for (DigestAlgorithm digest : {DigestAlgorithm::kSha256, DigestAlgorithm::kBlake2b}) {
    INFO(DigestName(digest));
    Fetching f(digest);
    f.SendChunk({1, 0, kChunk}, f.data, 0);  // two pieces, streamed into one digest
    CHECK(f.Expect(4).back() == "done 0 good");
    std::string bad = f.data;
    bad[kChunk + 17] ^= 0x40;  // chunk 1, one piece
    f.SendChunk({1, 1, kPiece}, bad, kChunk);
    CHECK(f.Expect(3).back() == "done 1 bad");
    // The hasher starts afresh for the next chunk.
    f.SendChunk({1, 1, kPiece}, f.data, kChunk);
    CHECK(f.Expect(3).back() == "done 1 good");
  }
}

TEST_CASE("fetch: a chunk the downloader declines, or stops writing, is drained and the stream stays in step",
          "[fetch]") {
  SECTION("declined at its start: no pieces, no done") {
    Fetching f;
    f.events->keep_chunk = false;
    f.SendChunk({1, 0, kChunk}, f.data, 0);
    f.holder_session().Send(proto::Have{1, 1});
    CHECK(f.Expect(2) == Lines{"start 0", "have 1"});
  }
  SECTION("a piece refused (a disk error): no more pieces, no done") {
    Fetching f;
    f.events->keep_pieces = false;
    f.SendChunk({1, 0, kChunk}, f.data, 0);
    f.holder_session().Send(proto::Have{1, 1});
    CHECK(f.Expect(3) == Lines{"start 0", "piece 0 0 1048576", "have 1"});
  }
}

TEST_CASE("fetch: a message that does not fit the file ends the session with ERROR", "[fetch]") {
  struct Row {
    const char* what;
    std::function<void(Fetching&)> send;
    const char* reason;
  };
  // CHUNK data stays small: all of it is in the socket before the close, so
  // the holder's send never meets a reset before it reads the ERROR.
  const std::vector<Row> rows = {
      {"a CHUNK of the wrong length", [](Fetching& f) { f.SendChunk({1, 0, 100}, f.data, 0); },
       "CHUNK 0 of 100 bytes does not fit the file"},
      {"a CHUNK on another slot", [](Fetching& f) { f.SendChunk({2, 1, 100}, f.data, 0); },
       "CHUNK 1 of 100 bytes does not fit the file"},
      {"a CHUNK past the last chunk", [](Fetching& f) { f.SendChunk({1, 2, 100}, f.data, 0); },
       "CHUNK 2 of 100 bytes does not fit the file"},
      {"a HAVE out of range", [](Fetching& f) { f.holder_session().Send(proto::Have{1, 2}); },
       "HAVE 2 is out of range"},
      {"a BITFIELD of another chunk count", [](Fetching& f) { f.holder_session().Send(proto::Bitfield{1, 9, Bytes(2, 0)}); },
       "BITFIELD for 9 chunks, the file has 2"},
      {"a HAVE on another slot", [](Fetching& f) { f.holder_session().Send(proto::Have{4, 0}); },
       "HAVE for a slot never opened"},
      {"a BITFIELD on another slot", [](Fetching& f) { f.holder_session().Send(proto::Bitfield{4, 2, Bytes(1, 0)}); },
       "BITFIELD for a slot never opened"},
      {"a REJECT on another slot", [](Fetching& f) { f.holder_session().Send(proto::Reject{4, 0, proto::RejectReason::kBusy}); },
       "REJECT for a slot never opened"},
      {"a REQUEST, which only a downloader sends", [](Fetching& f) { f.holder_session().Send(proto::Request{1, 0}); },
       "unexpected REQUEST"},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    Fetching f;
    row.send(f);
    CHECK(f.Expect(1) == Lines{std::string("closed: ") + row.reason});
    CHECK(f.events->received.empty());
    // The holder was told why before the close.
    REQUIRE(f.h.RunUntil([&] { return f.holder_log().closed; }));
    CHECK_THAT(f.holder_log().why.message(), Contains(std::string("says: ") + row.reason));
  }
}

TEST_CASE("fetch: a holder that cannot be reached is reported closed, never connected", "[fetch]") {
  SessionHarness h;
  net::SocketAddress nobody;
  const int fd = testing::BindLoopback(&nobody);  // bound, never listening: refused
  auto events = std::make_shared<RecordingEvents>();
  auto info = std::make_shared<FileInfo>();
  FetchSession::Start(*h.loop, nobody, 2s,
                      std::make_unique<FetchSession>(events, kKey, testing::PeerHello(2).peer_id, nullptr,
                                                     std::make_shared<auth::KeyRing>(), info));
  REQUIRE(h.RunUntil([&] { return events->closed; }));
  ::close(fd);
  REQUIRE(events->events.size() == 1);
  CHECK_THAT(events->events[0], Contains("refused"));
}

TEST_CASE("fetch: a holder that proves another id than the listed one is dropped before OPEN", "[fetch][identity]") {
  SessionHarness h;
  net::SessionOptions holder_options = testing::PeerOptions(2);
  testing::RecordingPool holder(*h.loop, holder_options);
  auto events = std::make_shared<RecordingEvents>();
  auto info = std::make_shared<FileInfo>();
  // The coordinator listed id 3 at this address; id 2 answers there.
  FetchSession::Start(*h.loop, holder.address, 2s,
                      std::make_unique<FetchSession>(events, kKey, testing::PeerHello(3).peer_id, nullptr,
                                                     std::make_shared<auth::KeyRing>(), info));
  REQUIRE(h.RunUntil([&] { return events->closed; }));
  REQUIRE(events->events.size() == 1);  // never "connected": nothing it serves can count against id 3
  CHECK_THAT(events->events[0], Contains("proved peer id " + PeerIdHex(testing::PeerHello(2).peer_id)));
  CHECK_THAT(events->events[0], Contains("not the " + PeerIdHex(testing::PeerHello(3).peer_id)));
  REQUIRE(h.RunUntil([&] { return !holder.accepted->empty() && holder.at(0).closed; }));
  CHECK(holder.at(0).messages.empty());  // no OPEN was sent
}

}  // namespace lanswarm::peer
