// net::Session and net::SessionPool on loopback, with the loop's timers on
// a FakeClock: the handshake (open and keyed), held sends, the error close
// for every kind of bad frame, the pool's HELLO/AUTH and idle timeouts, its
// admission limits, and exact reads of chunk data.
#include <cstring>

#include <catch2/catch.hpp>

#include "common/aligned_buffer.h"
#include "common/sodium_init.h"
#include "tests/support/session_harness.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::net {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using testing::ConnectRaw;
using testing::ConnectRecorder;
using testing::Frames;
using testing::Keys;
using testing::With;
using testing::Lines;
using testing::PeerHello;
using testing::RecordingPool;
using testing::SessionHarness;
using testing::SessionLog;

namespace {

// A frame header as sent, whatever it claims: [u32 payload length][u8 type].
Bytes Header(std::uint32_t len, std::uint8_t type) {
  Bytes b(proto::kFrameHeaderSize);
  StoreLE<std::uint32_t>(b.data(), len);
  b[4] = type;
  return b;
}

Bytes Concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

constexpr auto kHave = static_cast<std::uint8_t>(proto::MessageType::kHave);

// A pool and one client session connected to it, both recording.
struct Connected {
  explicit Connected(SessionOptions server_options = With(Keys({}), 2), SessionOptions client_options = With(Keys({}), 1),
                     PoolLimits limits = {}, std::function<void(SessionLog&)> setup = nullptr,
                     std::shared_ptr<SessionLog> client_log = std::make_shared<SessionLog>())
      : server(*h.loop, std::move(server_options), limits, std::move(setup)),
        client(ConnectRecorder(*h.loop, server.address, std::move(client_options), std::move(client_log))) {}

  bool Accepted() const { return !server.accepted->empty(); }
  SessionLog& accepted() { return server.at(0); }
  bool BothReady() { return client->ready && Accepted() && accepted().ready; }
  bool BothClosed() { return client->closed && Accepted() && accepted().closed; }

  SessionHarness h;
  RecordingPool server;
  std::shared_ptr<SessionLog> client;
};

}  // namespace

TEST_CASE("session: an open handshake readies both sides, then a message goes each way", "[session]") {
  Connected c;
  REQUIRE(c.h.RunUntil([&] { return c.BothReady(); }));
  CHECK(c.client->session->theirs().peer_id == PeerHello(2).peer_id);
  CHECK(c.accepted().session->theirs().peer_id == PeerHello(1).peer_id);
  c.client->session->Send(proto::Have{1, 2});
  c.accepted().session->Send(proto::Have{3, 4});
  REQUIRE(c.h.RunUntil([&] { return c.client->events.size() == 2 && c.accepted().events.size() == 2; }));
  CHECK(c.client->events == Lines{"ready", "HAVE 3 4"});
  CHECK(c.accepted().events == Lines{"ready", "HAVE 1 2"});
  CHECK(c.server.pool.counters().auth_failures == 0);
  CHECK(c.server.pool.counters().protocol_errors == 0);
}

TEST_CASE("session: a cluster key authenticates both sides only when both hold it", "[session][auth]") {
  struct Row {
    const char* what;
    std::vector<std::uint8_t> client_keys, server_keys;
    const char* reason;  // in both sides' close reasons; empty: both ready, none closed
    std::uint64_t auth_failures;  // the pool's count
  };
  const std::vector<Row> rows = {
      {"the same key", {7}, {7}, "", 0},
      {"another key", {1}, {2}, "the other side failed to prove the cluster key", 1},
      {"no key, against a key", {}, {2}, "the other side requires a cluster key", 1},
      // An open acceptor still waits for AUTH (the proof of the peer id), so
      // the connector giving up on it is a handshake of the pool's that failed.
      {"a key, against none", {1}, {}, "the other side runs without a cluster key", 1},
      // The connector accepts the proof (key 2 is in its ring) and proves
      // with its primary, key 1: the acceptor refuses that.
      {"a proof with a key the acceptor lacks", {1, 2}, {2}, "wrong cluster key", 1},
  };
  // Both ways of reading: the fetching side reads the handshake in exact steps.
  for (const Row& row : rows) {
    for (bool exact : {false, true}) {
      INFO(row.what << (exact ? ", exact reads" : ""));
      SessionOptions client = With(Keys(row.client_keys), 1);
      client.exact_reads = exact;
      Connected c(With(Keys(row.server_keys), 2), client);
      if (std::string(row.reason).empty()) {
        REQUIRE(c.h.RunUntil([&] { return c.BothReady(); }));
        c.h.Run(5);
        CHECK_FALSE(c.client->closed);
        CHECK_FALSE(c.accepted().closed);
      } else {
        REQUIRE(c.h.RunUntil([&] { return c.BothClosed(); }));
        for (const SessionLog* side : {c.client.get(), &c.accepted()}) {
          CHECK_THAT(side->why.message(), Contains(row.reason));
          CHECK(side->why.message().find('\n') == std::string::npos);
          CHECK(side->messages.empty());
        }
      }
      CHECK(c.server.pool.counters().auth_failures == row.auth_failures);
    }
  }
}

TEST_CASE("session: messages sent before the handshake go out after it, in order", "[session]") {
  for (bool keyed : {false, true}) {
    INFO((keyed ? "keyed" : "open"));
    auto keys = keyed ? Keys({5}) : Keys({});
    Connected c(With(keys, 2), With(keys, 1), {}, [](SessionLog& log) {
      log.on_hello = [](Session& s) {  // the acceptor, before its HELLO reply
        s.Send(proto::Have{2, 1});
        s.Send(proto::Have{2, 2});
      };
    });
    // The connector, before it has even connected.
    c.client->session->Send(proto::Have{1, 1});
    c.client->session->SendFrames(Frames({proto::Have{1, 2}, proto::Have{1, 3}}));
    REQUIRE(c.h.RunUntil([&] { return c.client->events.size() == 3 && c.Accepted() && c.accepted().events.size() == 4; }));
    CHECK(c.client->events == Lines{"ready", "HAVE 2 1", "HAVE 2 2"});
    CHECK(c.accepted().events == Lines{"ready", "HAVE 1 1", "HAVE 1 2", "HAVE 1 3"});
  }
}

TEST_CASE("session: a bad frame from a client is answered ERROR, then the close", "[session][pool]") {
  struct Row {
    const char* what;
    Bytes sent;          // by a bare connection, after nothing else
    std::string error;   // the ERROR line it receives
  };
  const Bytes hello = Frames({PeerHello(9)});
  const std::vector<Row> rows = {
      {"a frame over max_payload", Concat(hello, Header(2000, kHave)),
       "ERROR protocol: frame length 2000 exceeds the maximum 1024"},
      {"an unknown message type", Concat(hello, Header(0, 99)), "ERROR protocol: unknown frame type 99"},
      {"a payload that does not decode", Concat(hello, Concat(Header(2, kHave), Bytes{0, 0})),
       "ERROR protocol: truncated HAVE payload"},
      {"a CHUNK on a connection without exact reads", Concat(hello, Frames({proto::ChunkHeader{1, 0, 10}})),
       "ERROR protocol: unexpected CHUNK on this connection"},
      {"a second HELLO", Concat(hello, hello), "ERROR protocol: a second HELLO"},
      {"a message before HELLO", Frames({proto::Have{1, 1}}), "ERROR protocol: expected HELLO first, got HAVE"},
      {"AUTH with a key's proof to an open cluster",
       Concat(hello, Frames({proto::Auth{Bytes(proto::kSignatureSize, 1), Bytes(32, 1)}})),
       "ERROR auth: AUTH carries a cluster-key proof, but this side runs without a cluster key"},
      {"AUTH with a signature that is not the HELLO's key's",
       Concat(hello, Frames({proto::Auth{Bytes(proto::kSignatureSize, 1), {}}})),
       fmt::format("ERROR auth: peer id {} not proven (bad identity signature)", PeerIdHex(PeerHello(9).peer_id))},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    SessionHarness h;
    SessionOptions options = With(Keys({}), 2);
    options.max_payload = 1024;
    RecordingPool server(*h.loop, options);
    auto raw = ConnectRaw(*h.loop, server.address, row.sent);
    REQUIRE(h.RunUntil([&] { return raw->closed && !server.accepted->empty() && server.at(0).closed; }));
    REQUIRE(raw->events.size() >= 2);
    CHECK(raw->events[raw->events.size() - 2] == row.error);
    CHECK(raw->events.back() == "closed");
    CHECK(server.at(0).messages.empty());
    CHECK(server.at(0).hellos <= 1);  // CheckHello is asked about one HELLO at most
    CHECK(server.pool.counters().protocol_errors == 1);
  }
}

TEST_CASE("session: a HELLO the handler refuses is answered ERROR(protocol) with its reason", "[session]") {
  SessionHarness h;
  RecordingPool server(*h.loop, With(Keys({}), 2), {}, [](SessionLog& log) { log.refuse_hello = "not served here"; });
  auto raw = ConnectRaw(*h.loop, server.address, Frames({PeerHello(9)}));
  REQUIRE(h.RunUntil([&] { return raw->closed && !server.accepted->empty() && server.at(0).closed; }));
  CHECK(raw->events == Lines{"ERROR protocol: not served here", "closed"});
  CHECK(server.at(0).hellos == 1);
  CHECK_FALSE(server.at(0).ready);
}

TEST_CASE("session: a bad frame on an exact-read connection is answered ERROR, then the close", "[session]") {
  struct Row {
    const char* what;
    Bytes sent;  // by the acceptor, once ready
    const char* reason;
  };
  const std::vector<Row> rows = {
      {"a frame over max_payload", Header(2000, kHave), "a 2000-byte frame is over this connection's limit"},
      {"an unknown message type", Header(0, 99), "unknown frame type 99"},
      {"HELLO after the handshake", Frames({PeerHello(3)}), "unexpected HELLO after the handshake"},
      {"AUTH after the handshake", Frames({proto::Auth{Bytes(proto::kSignatureSize, 1), {}}}),
       "unexpected AUTH after the handshake"},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    SessionOptions client = With(Keys({}), 1);
    client.exact_reads = true;
    client.max_payload = 1024;
    Connected c(With(Keys({}), 2), client, {},
                [&](SessionLog& log) { log.on_ready = [&](Session& s) { s.SendFrames(row.sent); }; });
    REQUIRE(c.h.RunUntil([&] { return c.BothClosed(); }));
    CHECK(c.client->events == Lines{"ready", std::string("closed: ") + row.reason});
    CHECK_THAT(c.accepted().why.message(), Contains(std::string("says: ") + row.reason));
  }
}

TEST_CASE("session: an ERROR received closes the session with its reason, unseen by the handler", "[session]") {
  Connected c({}, {}, {}, [](SessionLog& log) {
    log.on_ready = [](Session& s) { s.Fail(proto::ErrorCode::kLimit, "too many files open"); };
  });
  REQUIRE(c.h.RunUntil([&] { return c.BothClosed(); }));
  REQUIRE(c.client->events.size() == 2);
  CHECK_THAT(c.client->last(), Contains("says: too many files open"));
  CHECK(c.client->messages.empty());
  CHECK(c.accepted().why.message() == "too many files open");
  CHECK(c.server.pool.counters().protocol_errors == 1);
}

TEST_CASE("session: a connect that fails reports only OnClosed, with the reason", "[session]") {
  SessionHarness h;
  SocketAddress nobody;
  const int fd = testing::BindLoopback(&nobody);  // bound, never listening: refused
  auto client = ConnectRecorder(*h.loop, nobody);
  REQUIRE(h.RunUntil([&] { return client->closed; }));
  ::close(fd);
  REQUIRE(client->events.size() == 1);
  CHECK_THAT(client->last(), Contains("refused"));
}

TEST_CASE("pool: a client that never finishes the handshake is failed once hello_timeout has passed, not before",
          "[pool][timeout]") {
  struct Row {
    bool keyed;        // the pool requires a key
    bool says_hello;   // the client sends HELLO (and never AUTH)
    const char* error;
  };
  const std::vector<Row> rows = {
      {false, false, "ERROR protocol: no HELLO within 5 s"},
      {true, false, "ERROR protocol: no HELLO within 5 s"},
      {true, true, "ERROR protocol: no AUTH within 5 s"},
      {false, true, "ERROR protocol: no AUTH within 5 s"},  // open: AUTH proves the peer id
  };
  for (const Row& row : rows) {
    for (bool own_timer : {false, true}) {
      INFO("keyed " << row.keyed << ", HELLO " << row.says_hello << ", own timer " << own_timer);
      SessionHarness h;
      RecordingPool server(*h.loop, With(row.keyed ? Keys({4}) : Keys({}), 2), {.hello_timeout = 5s});
      auto raw = ConnectRaw(*h.loop, server.address, row.says_hello ? Frames({PeerHello(9)}) : Bytes{});
      const std::size_t replies = row.says_hello ? 1 : 0;  // the acceptor's HELLO
      REQUIRE(h.RunUntil([&] { return server.pool.size() == 1 && raw->events.size() == replies; }));
      // Just before: the pool's timer ticks every second, from Listen.
      if (own_timer) {
        h.Advance(4s);
      } else {
        h.clock.Advance(4999ms);
        server.pool.CheckTimeouts();
      }
      h.Run(10);
      CHECK_FALSE(raw->closed);
      if (own_timer) {
        h.Advance(1s);
      } else {
        h.clock.Advance(1ms);
        server.pool.CheckTimeouts();
      }
      REQUIRE(h.RunUntil([&] { return raw->closed && server.at(0).closed; }));
      CHECK(raw->events.size() == replies + 2);
      CHECK(raw->events[replies] == row.error);
      CHECK_FALSE(server.at(0).ready);
      CHECK(server.pool.size() == 0);
    }
  }
}

TEST_CASE("pool: the idle timeout closes a silent session, not one whose handler is busy", "[pool][timeout]") {
  for (bool busy : {false, true}) {
    INFO("busy " << busy);
    Connected c({}, {}, {.idle_timeout = 30s}, [busy](SessionLog& log) { log.busy = busy; });
    REQUIRE(c.h.RunUntil([&] { return c.BothReady(); }));
    c.h.clock.Advance(29s);
    c.server.pool.CheckTimeouts();
    c.h.Run(5);
    CHECK_FALSE(c.accepted().closed);
    c.h.clock.Advance(1s);
    c.server.pool.CheckTimeouts();
    if (busy) {
      c.h.Run(10);
      CHECK_FALSE(c.accepted().closed);
      CHECK_FALSE(c.client->closed);
    } else {
      REQUIRE(c.h.RunUntil([&] { return c.BothClosed(); }));
      CHECK(c.accepted().why.message() == "idle");
      CHECK_THAT(c.client->why.message(), Contains("closed by peer"));
    }
  }
}

TEST_CASE("pool: a message received restarts the idle clock", "[pool][timeout]") {
  Connected c({}, {}, {.idle_timeout = 30s});
  REQUIRE(c.h.RunUntil([&] { return c.BothReady(); }));
  c.h.clock.Advance(20s);
  c.client->session->Send(proto::Have{1, 1});
  REQUIRE(c.h.RunUntil([&] { return c.accepted().messages.size() == 1; }));
  c.h.clock.Advance(29s);  // 49 s open, 29 s silent
  c.server.pool.CheckTimeouts();
  c.h.Run(5);
  CHECK_FALSE(c.accepted().closed);
  c.h.clock.Advance(1s);
  c.server.pool.CheckTimeouts();
  REQUIRE(c.h.RunUntil([&] { return c.accepted().closed; }));
}

TEST_CASE("pool: a connection past the total or per-address limit is refused and counted", "[pool][limits]") {
  struct Row {
    const char* what;
    PoolLimits limits;
  };
  const std::vector<Row> rows = {
      {"in all", {.max_connections = 2, .max_connections_per_address = 10}},
      {"from one address", {.max_connections = 10, .max_connections_per_address = 2}},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    SessionHarness h;
    RecordingPool server(*h.loop, With(Keys({}), 2), row.limits);
    std::vector<std::shared_ptr<SessionLog>> clients;
    for (int i = 0; i < 2; ++i) {
      clients.push_back(ConnectRecorder(*h.loop, server.address));
      REQUIRE(h.RunUntil([&] { return clients.back()->ready && server.pool.size() == clients.size(); }));
    }
    auto refused = ConnectRecorder(*h.loop, server.address);
    REQUIRE(h.RunUntil([&] { return refused->closed; }));
    CHECK_FALSE(refused->ready);
    CHECK(server.pool.refused() == 1);
    CHECK(server.pool.size() == 2);
    CHECK(server.accepted->size() == 2);

    // A session that ends gives its place back.
    clients[0]->session->Close();
    REQUIRE(h.RunUntil([&] { return server.pool.size() == 1; }));
    auto next = ConnectRecorder(*h.loop, server.address);
    REQUIRE(h.RunUntil([&] { return next->ready; }));
    CHECK(server.pool.refused() == 1);
    CHECK(server.accepted->size() == 3);
  }
}

TEST_CASE("pool: warnings clients cause are held to the budget per second, and counted", "[pool][limits]") {
  SessionHarness h;
  RecordingPool server(*h.loop, With(Keys({}), 2), {.warnings_per_second = 2, .max_connections = 1});
  auto kept = ConnectRecorder(*h.loop, server.address);
  REQUIRE(h.RunUntil([&] { return kept->ready; }));
  // Refusals and Fail()s draw on the same budget: two lines, then silence.
  auto refuse = [&](int n) {
    for (int i = 0; i < n; ++i) {
      auto refused = ConnectRecorder(*h.loop, server.address);
      REQUIRE(h.RunUntil([&] { return refused->closed; }));
    }
  };
  refuse(4);
  CHECK(server.pool.refused() == 4);
  CHECK(server.pool.warnings().TakeSuppressed() == 2);
  // A second later (the pool's timer has run: it takes the count for its
  // summary line) the budget is back.
  h.Advance(1s);
  refuse(3);
  kept->session->SendFrames(Header(0, 99));
  REQUIRE(h.RunUntil([&] { return kept->closed; }));
  CHECK(server.pool.counters().protocol_errors == 1);
  CHECK(server.pool.warnings().TakeSuppressed() == 2);  // the third refusal, and the Fail
}

TEST_CASE("session: exact reads deliver a CHUNK in pieces of the handler's buffer, then the next message",
          "[session][exact]") {
  struct Row {
    std::size_t piece_size;
    Lines pieces;
  };
  const std::vector<Row> rows = {
      {1000, {"piece 0 1000", "piece 1000 1000", "piece 2000 500"}},
      {2500, {"piece 0 2500"}},
      {4096, {"piece 0 2500"}},
  };
  const std::string data = testing::RandomBytes(2500, 3);
  // The chunk sits at offset 100 of a larger buffer: SendChunk sends a slice.
  auto buffer = std::make_shared<AlignedBuffer>(100 + data.size());
  std::memcpy(buffer->data() + 100, data.data(), data.size());
  for (const Row& row : rows) {
    INFO("piece size " << row.piece_size);
    SessionOptions client = With(Keys({}), 1);
    client.exact_reads = true;
    auto log = std::make_shared<SessionLog>();
    log->piece_size = row.piece_size;
    log->record_pieces = true;
    Connected c(With(Keys({}), 2), client, {},
                [&](SessionLog& server) {
                  server.on_ready = [&](Session& s) {
                    s.Send(proto::Have{1, 7});
                    s.SendChunk(proto::ChunkHeader{1, 4, 2500}, buffer, 100);
                    s.Send(proto::Have{1, 8});
                  };
                },
                log);
    REQUIRE(c.h.RunUntil([&] { return c.client->last() == "HAVE 1 8"; }));
    Lines want = {"ready", "HAVE 1 7", "CHUNK 1 4 2500"};
    want.insert(want.end(), row.pieces.begin(), row.pieces.end());
    want.insert(want.end(), {"chunk end", "HAVE 1 8"});
    CHECK(c.client->events == want);
    REQUIRE(c.client->chunks.size() == 1);
    CHECK(c.client->chunks[0] == data);
  }
}

}  // namespace lanswarm::net
