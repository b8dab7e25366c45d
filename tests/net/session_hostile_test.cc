// What clients that prove nothing, or that never read, can still take from
// a session pool (issue 15, items 2, 3 and 5): the frame limit before the
// handshake, the slots of the unauthenticated with the oldest making room,
// and back-pressure with the idle clock counting only bytes that move.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/auth/handshake.h"
#include "common/proto/codec.h"
#include "tests/support/session_harness.h"

namespace lanswarm::net {

using namespace std::chrono_literals;
using testing::ConnectRaw;
using testing::ConnectRecorder;
using testing::Frames;
using testing::Keys;
using testing::PeerHello;
using testing::RecordingPool;
using testing::SessionHarness;
using testing::SessionLog;
using testing::With;

namespace {

// A client on a plain blocking socket that sends what it is given and never
// reads a byte: the kernel's buffers fill, then the server's queue grows.
class NonReader {
 public:
  explicit NonReader(const SocketAddress& to) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    int small = 4096;  // a small receive buffer: the backlog builds on the server's side
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    REQUIRE(::connect(fd_, to.sockaddr_ptr(), to.length()) == 0);
  }
  ~NonReader() { ::close(fd_); }
  void Send(const Bytes& b) { REQUIRE(::send(fd_, b.data(), b.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(b.size())); }
  // The open handshake as TestIdentity(1): HELLO, the acceptor's HELLO (the
  // only bytes this client ever reads), AUTH.
  void Handshake(SessionHarness& h) {
    const auth::KeyRing open;
    const auth::Identity me = testing::TestIdentity(1);
    auth::ConnectorHandshake hs(open, me, PeerHello(1));
    Send(proto::EncodeFrame(hs.hello()));
    proto::FrameBuffer frames;
    proto::Message m;
    bool got = false;
    REQUIRE(h.RunUntil([&] {
      std::uint8_t buf[512];
      const ssize_t n = got ? 0 : ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) frames.Append(ByteView(buf, static_cast<std::size_t>(n)));
      got = got || frames.Next(&m).state == proto::DecodeState::kComplete;
      return got;
    }));
    auto a = hs.OnHello(std::get<proto::Hello>(m));
    REQUIRE(a.ok());
    Send(proto::EncodeFrame(*a));
  }

 private:
  int fd_ = -1;
};

Bytes Haves(int n) {
  Bytes out;
  for (int i = 0; i < n; ++i) proto::EncodeFrame(proto::Have{1, static_cast<std::uint32_t>(i)}, &out);
  return out;
}

}  // namespace

TEST_CASE("session: a frame before the handshake past 4096 bytes is refused from its header alone", "[session][hostile]") {
  SessionHarness h;
  RecordingPool server(*h.loop, With(Keys({}), 2));
  // A header announcing 5,000 bytes of HELLO, and no payload: refused at once.
  Bytes header(proto::kFrameHeaderSize);
  StoreLE<std::uint32_t>(header.data(), 5000);
  header[4] = static_cast<std::uint8_t>(proto::MessageType::kHello);
  auto raw = ConnectRaw(*h.loop, server.address, header);
  REQUIRE(h.RunUntil([&] { return raw->closed; }));
  REQUIRE(raw->events.size() == 2);
  CHECK_THAT(raw->events[0], Catch::Matchers::StartsWith("ERROR protocol:"));
  CHECK_THAT(raw->events[0], Catch::Matchers::Contains("5000"));
  CHECK(server.pool.counters().protocol_errors == 1);
}

TEST_CASE("session: after the handshake the session's own limit applies", "[session][hostile]") {
  SessionHarness h;
  SessionOptions options = With(Keys({}), 2);
  options.max_payload = 64 << 10;
  RecordingPool server(*h.loop, options);
  auto client = ConnectRecorder(*h.loop, server.address, With(Keys({}), 1));
  REQUIRE(h.RunUntil([&] { return client->ready && !server.accepted->empty() && server.at(0).ready; }));
  // A 10,000-byte STATS answer is fine once both sides are proven.
  proto::Stats stats{7, {}};
  for (int i = 0; i < 300; ++i) stats.entries.push_back({fmt::format("name_{:04}_padding_padding", i), 1});
  REQUIRE(proto::EncodeFrame(stats).size() > 4096);
  client->session->Send(stats);
  REQUIRE(h.RunUntil([&] { return !server.at(0).messages.empty(); }));
  CHECK(std::get<proto::Stats>(server.at(0).messages[0]).entries.size() == 300);
  CHECK_FALSE(server.at(0).closed);
}

TEST_CASE("pool: the oldest connection still in the handshake makes room; members are never evicted",
          "[pool][hostile]") {
  SessionHarness h;
  RecordingPool server(*h.loop, With(Keys({}), 2), {.max_connections = 4, .max_unauthenticated = 2});
  auto member = ConnectRecorder(*h.loop, server.address, With(Keys({}), 1));
  REQUIRE(h.RunUntil([&] { return member->ready; }));
  // Two outsiders that never say HELLO fill the handshake budget.
  auto first = ConnectRaw(*h.loop, server.address);
  REQUIRE(h.RunUntil([&] { return server.pool.size() == 2; }));
  h.clock.Advance(1ms);  // so that the first is strictly the oldest
  auto second = ConnectRaw(*h.loop, server.address);
  REQUIRE(h.RunUntil([&] { return server.pool.size() == 3; }));
  // A third closes the first instead of being refused.
  h.clock.Advance(1ms);
  auto third = ConnectRaw(*h.loop, server.address);
  REQUIRE(h.RunUntil([&] { return first->closed; }));
  CHECK_FALSE(second->closed);
  CHECK(server.pool.evicted() == 1);
  CHECK(server.pool.refused() == 0);
  // A newcomer that proves itself gets in while outsiders hold the budget,
  // and the member already in is untouched.
  auto late = ConnectRecorder(*h.loop, server.address, With(Keys({}), 3));
  REQUIRE(h.RunUntil([&] { return late->ready; }));
  CHECK(second->closed);
  CHECK_FALSE(third->closed);
  CHECK(server.pool.evicted() == 2);
  CHECK(member->ready);
  CHECK_FALSE(member->closed);
}

TEST_CASE("pool: with every slot held by members, a newcomer is refused, not a member evicted", "[pool][hostile]") {
  SessionHarness h;
  RecordingPool server(*h.loop, With(Keys({}), 2), {.max_connections = 2, .max_unauthenticated = 2});
  auto a = ConnectRecorder(*h.loop, server.address, With(Keys({}), 1));
  auto b = ConnectRecorder(*h.loop, server.address, With(Keys({}), 3));
  REQUIRE(h.RunUntil([&] { return a->ready && b->ready; }));
  auto refused = ConnectRaw(*h.loop, server.address);
  REQUIRE(h.RunUntil([&] { return refused->closed; }));
  CHECK(server.pool.refused() == 1);
  CHECK(server.pool.evicted() == 0);
  CHECK_FALSE(a->closed);
  CHECK_FALSE(b->closed);
}

TEST_CASE("session: a client that never reads is not read from once its replies pile up, then is idle",
          "[session][hostile]") {
  SessionHarness h;
  SessionOptions options = With(Keys({}), 2);
  options.max_unsent_replies = 64 << 10;
  // Each session answers its client's HELLO with 16 MiB of frames, more
  // than the kernel's buffers take.
  RecordingPool server(*h.loop, options, {.idle_timeout = 300s}, [](SessionLog& log) {
    log.on_ready = [](Session& s) { s.SendFrames(Haves((16 << 20) / 11)); };
  });
  NonReader client(server.address);
  client.Handshake(h);
  REQUIRE(h.RunUntil([&] { return !server.accepted->empty() && server.at(0).ready; }));
  h.Run(50);
  // Requests now are not read, so they cannot add replies.
  client.Send(Haves(100));
  h.Run(50);
  CHECK(server.at(0).messages.empty());
  CHECK_FALSE(server.at(0).closed);
  // A request every 200 s does not keep it alive: nothing leaves.
  h.Advance(200s);
  client.Send(Haves(1));
  h.Run(10);
  h.Advance(101s);
  REQUIRE(h.RunUntil([&] { return server.at(0).closed; }));
  CHECK(server.at(0).why.message() == "idle");
}

}  // namespace lanswarm::net
