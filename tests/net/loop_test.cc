// The loop's lifecycle: timers, stopping, connect failures and timeouts,
// simulated latency, and closing with operations in flight (run under
// `make asan`, which also checks that nothing leaks).
#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "common/net/connection.h"
#include "common/net/loop.h"
#include "tests/support/net_helpers.h"
#include "common/net/ring.h"

namespace lanswarm::net {

using namespace std::chrono_literals;
using testing::AnyLoopbackPort;
using testing::MakeLoop;

namespace {

// Counts live handlers, to prove the loop frees every one.
std::atomic<int> g_live_handlers{0};

struct Recorder : ConnectionHandler {
  std::vector<std::string>* events;
  std::string name;
  Recorder(std::vector<std::string>* e, std::string n) : events(e), name(std::move(n)) { ++g_live_handlers; }
  ~Recorder() override { --g_live_handlers; }
  void OnConnected(Connection&) override { events->push_back(name + " connected"); }
  void OnData(Connection&, ByteView data) override {
    events->push_back(name + " data " + std::string(data.begin(), data.end()));
  }
  void OnClosed(Connection& c, const Status& why) override {
    events->push_back(name + " closed " + (why.ok() ? "ok" : why.message()));
    c.loop().Stop();
  }
};

bool Contains(const std::vector<std::string>& v, const std::string& part) {
  for (const auto& s : v) {
    if (s.find(part) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("loop: the ring is set up with the best flags the kernel takes", "[loop]") {
  auto loop = MakeLoop();
  CHECK(std::string(loop->ring_mode()) == "single-issuer+defer-taskrun");
}

TEST_CASE("loop: io_uring refusal names seccomp and the sysctl", "[loop]") {
  for (int err : {EPERM, ENOSYS}) {
    const std::string msg = IoUringUnavailable(err).message();
    CHECK(msg.find("seccomp") != std::string::npos);
    CHECK(msg.find("kernel.io_uring_disabled") != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
  }
}

TEST_CASE("loop: timers fire in deadline order; cancelled ones never", "[loop][timer]") {
  auto loop = MakeLoop();
  std::vector<std::string> fired;
  loop->AddTimer(30ms, [&] { fired.push_back("30"); });
  loop->AddTimer(10ms, [&] { fired.push_back("10a"); });
  auto cancelled = loop->AddTimer(15ms, [&] { fired.push_back("15"); });
  loop->AddTimer(20ms, [&] { fired.push_back("20"); });
  loop->AddTimer(10ms, [&] { fired.push_back("10b"); });
  loop->AddTimer(40ms, [&] { loop->Stop(); });
  CHECK(loop->CancelTimer(cancelled));
  CHECK_FALSE(loop->CancelTimer(cancelled));
  REQUIRE(loop->Run().ok());
  CHECK(fired == std::vector<std::string>{"10a", "10b", "20", "30"});
}

TEST_CASE("loop: a periodic timer repeats until it cancels itself", "[loop][timer]") {
  auto loop = MakeLoop();
  int ticks = 0;
  Loop::TimerId id = 0;
  id = loop->AddPeriodic(5ms, [&] {
    if (++ticks == 5) {
      loop->CancelTimer(id);
      loop->AddTimer(20ms, [&] { loop->Stop(); });
    }
  });
  const auto t0 = loop->clock().now();
  REQUIRE(loop->Run().ok());
  CHECK(ticks == 5);
  CHECK(loop->clock().now() - t0 >= 25ms);
}

TEST_CASE("loop: StopFromAnyThread ends Run from another thread", "[loop]") {
  auto loop = MakeLoop();
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    loop->StopFromAnyThread();
  });
  REQUIRE(loop->Run().ok());
  stopper.join();
}

TEST_CASE("loop: connecting to a closed port reports the refusal", "[loop]") {
  // Bind a port, then close it, so nothing listens there.
  SocketAddress closed;
  ::close(testing::BindLoopback(&closed));

  std::vector<std::string> events;
  auto loop = MakeLoop();
  loop->Connect(closed, 2s, std::make_unique<Recorder>(&events, "c"));
  REQUIRE(loop->Run().ok());
  REQUIRE(events.size() == 1);
  CHECK(events[0].find("c closed connect to 127.0.0.1:") == 0);
  CHECK(events[0].find("Connection refused") != std::string::npos);
}

TEST_CASE("loop: connect gives up after its timeout", "[loop]") {
  // A listener with backlog 0 that never accepts: once its queue holds one
  // connection, the kernel drops further SYNs and those connects hang.
  SocketAddress target;
  int lfd = testing::BindLoopback(&target);
  REQUIRE(::listen(lfd, 0) == 0);

  std::vector<std::string> events;
  auto loop = MakeLoop();
  for (int i = 0; i < 3; ++i) loop->Connect(target, 300ms, std::make_unique<Recorder>(&events, "c"));
  loop->AddTimer(1500ms, [&] { loop->Stop(); });
  const auto t0 = loop->clock().now();
  while (loop->clock().now() - t0 < 1400ms && !Contains(events, "timed out")) REQUIRE(loop->Run().ok());
  ::close(lfd);
  CHECK(Contains(events, "timed out after 300 ms"));
}

TEST_CASE("loop: simulated latency delays every message, in order", "[loop]") {
  LoopOptions options;
  options.send_latency = 40ms;
  std::vector<std::string> events;
  auto loop = MakeLoop(options);
  auto addr = loop->Listen(AnyLoopbackPort(), [&](const SocketAddress&) { return std::make_unique<Recorder>(&events, "s"); });
  REQUIRE(addr.ok());
  struct Sender : ConnectionHandler {
    void OnConnected(Connection& c) override {
      c.Send(Bytes{'a'});
      c.Send(Bytes{'b'});
      CHECK(c.unsent_bytes() == 2);
    }
    void OnData(Connection&, ByteView) override {}
    void OnClosed(Connection&, const Status&) override {}
  };
  loop->Connect(*addr, 2s, std::make_unique<Sender>());
  Clock::TimePoint first_data{};
  const auto t0 = loop->clock().now();
  loop->AddPeriodic(1ms, [&] {
    if (first_data == Clock::TimePoint{} && Contains(events, "s data")) first_data = loop->clock().now();
    std::string all;
    for (const auto& e : events) all += e + ";";
    if (all.find("b") != std::string::npos) loop->Stop();
  });
  loop->AddTimer(5s, [&] { loop->Stop(); });
  REQUIRE(loop->Run().ok());
  std::string all;
  for (const auto& e : events) {
    if (e.rfind("s data ", 0) == 0) all += e.substr(7);
  }
  CHECK(all == "ab");
  CHECK(events.front() == "s connected");  // accepted connections are told too
  CHECK(first_data - t0 >= 40ms);
}

TEST_CASE("loop: closing with a receive in flight cancels it and frees everything", "[loop][cancel]") {
  const int live_before = g_live_handlers.load();
  {
    // Declared before the loop: its destructor still calls OnClosed.
    std::vector<std::string> events;
    Status bulk_status;
    AlignedBuffer buf(1 << 16);
    auto loop = MakeLoop();
    struct Waiter : Recorder {
      using Recorder::Recorder;
      AlignedBuffer* buf;
      Status* bulk_status;
      void OnData(Connection& c, ByteView) override {
        c.ReceiveInto(buf->data(), buf->size(), [this](const Status& s) { *bulk_status = s; });
        // Close with the bulk recv (or the multishot cancel) in flight.
        c.loop().AddTimer(20ms, [&c] { c.Close(); });
      }
    };
    auto addr = loop->Listen(AnyLoopbackPort(), [&](const SocketAddress&) {
      auto w = std::make_unique<Waiter>(&events, "s");
      w->buf = &buf;
      w->bulk_status = &bulk_status;
      return w;
    });
    REQUIRE(addr.ok());
    struct Hello : Recorder {
      using Recorder::Recorder;
      void OnConnected(Connection& c) override { c.Send(Bytes{'x'}); }
      void OnClosed(Connection&, const Status& why) override { events->push_back("client closed " + why.message()); }
    };
    loop->Connect(*addr, 2s, std::make_unique<Hello>(&events, "c"));
    loop->AddTimer(5s, [&] { loop->Stop(); });
    REQUIRE(loop->Run().ok());
    CHECK(Contains(events, "s closed ok"));
    CHECK_FALSE(bulk_status.ok());
    CHECK(g_live_handlers.load() == live_before + 1);  // the client is still open
    // Destroying the loop closes the client and waits for its completions.
  }
  CHECK(g_live_handlers.load() == live_before);
}

TEST_CASE("loop: a handler that reconnects from OnClosed cannot keep a dying loop alive", "[loop][cancel]") {
  std::vector<std::string> reasons;
  struct Reconnector : ConnectionHandler {
    SocketAddress to;
    std::vector<std::string>* reasons;
    void OnData(Connection&, ByteView) override {}
    void OnClosed(Connection& c, const Status& why) override {
      reasons->push_back(why.message());
      auto again = std::make_unique<Reconnector>();  // forever, without backoff
      again->to = to;
      again->reasons = reasons;
      c.loop().Connect(to, 1s, std::move(again));
    }
  };
  {
    auto loop = MakeLoop();
    auto addr = loop->Listen(AnyLoopbackPort(), [](const SocketAddress&) {
      struct Quiet : ConnectionHandler {
        void OnData(Connection&, ByteView) override {}
        void OnClosed(Connection&, const Status&) override {}
      };
      return std::make_unique<Quiet>();
    });
    REQUIRE(addr.ok());
    auto r = std::make_unique<Reconnector>();
    r->to = *addr;
    r->reasons = &reasons;
    loop->Connect(*addr, 1s, std::move(r));
    loop->AddTimer(100ms, [&] { loop->Stop(); });
    REQUIRE(loop->Run().ok());
    CHECK(loop->connection_count() == 2);  // both ends, connected
  }  // ~Loop: every reconnect fails at once, and the destructor still returns
  REQUIRE(reasons.size() >= 2);
  CHECK(reasons[0] == "event loop shutting down");
  CHECK(reasons[1] == "event loop shutting down");
}

TEST_CASE("loop: CloseAfterSending delivers what was queued, then closes", "[loop]") {
  std::vector<std::string> events;
  auto loop = MakeLoop();
  struct Replier : ConnectionHandler {
    void OnData(Connection& c, ByteView) override {
      c.Send(Bytes{'b', 'y', 'e'});
      c.CloseAfterSending(Status::Ok());
    }
    void OnClosed(Connection&, const Status&) override {}
  };
  auto addr = loop->Listen(AnyLoopbackPort(), [](const SocketAddress&) { return std::make_unique<Replier>(); });
  REQUIRE(addr.ok());
  struct Asker : Recorder {
    using Recorder::Recorder;
    void OnConnected(Connection& c) override {
      Recorder::OnConnected(c);
      c.Send(Bytes{'?'});
    }
  };
  loop->Connect(*addr, 2s, std::make_unique<Asker>(&events, "c"));
  loop->AddTimer(5s, [&] { loop->Stop(); });
  REQUIRE(loop->Run().ok());
  REQUIRE(events.size() == 3);
  CHECK(events[0] == "c connected");
  CHECK(events[1] == "c data bye");
  CHECK(events[2].find("c closed") == 0);
  CHECK(events[2].find("closed by peer") != std::string::npos);
}

TEST_CASE("loop: a refused accept closes the socket at once", "[loop]") {
  std::vector<std::string> events;
  auto loop = MakeLoop();
  auto addr = loop->Listen(AnyLoopbackPort(), [](const SocketAddress&) { return std::unique_ptr<ConnectionHandler>(); });
  REQUIRE(addr.ok());
  loop->Connect(*addr, 2s, std::make_unique<Recorder>(&events, "c"));
  loop->AddTimer(5s, [&] { loop->Stop(); });
  REQUIRE(loop->Run().ok());
  CHECK(events.size() == 2);
  CHECK(Contains(events, "c closed"));
  CHECK(loop->connection_count() == 0);
}

TEST_CASE("loop: listening on a port in use is an error naming it", "[loop]") {
  auto loop = MakeLoop();
  auto first = loop->Listen(AnyLoopbackPort(), [](const SocketAddress&) { return std::unique_ptr<ConnectionHandler>(); });
  REQUIRE(first.ok());
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);  // SO_REUSEADDR does not allow two listeners
  auto second = loop->Listen(*first, [](const SocketAddress&) { return std::unique_ptr<ConnectionHandler>(); });
  ::close(fd);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().message().find("bind " + first->ToString()) == 0);
  CHECK(second.status().message().find("Address already in use") != std::string::npos);
}

TEST_CASE("SocketAddress: parses and prints IPv4, IPv6 and localhost", "[loop]") {
  CHECK(SocketAddress::Parse("10.1.2.3:6881")->ToString() == "10.1.2.3:6881");
  CHECK(SocketAddress::Parse("[::1]:80")->ToString() == "[::1]:80");
  CHECK(SocketAddress::Parse("localhost:6882")->ToString() == "127.0.0.1:6882");
  CHECK(SocketAddress::Parse("0.0.0.0:0")->is_unspecified());
  for (const char* bad : {"", "10.1.2.3", "10.1.2.3:", "10.1.2.3:65536", "host.example:80", "::1:80", "[::1]80",
                          "10.1.2.3:-1", "10.1.2.3:8x"}) {
    INFO(bad);
    CHECK_FALSE(SocketAddress::Parse(bad).ok());
  }
  auto e = SocketAddress::Parse("10.9.8.7:1234")->ToEndpoint();
  CHECK(e.family == 4);
  CHECK(e.port == 1234);
  CHECK(SocketAddress::FromEndpoint(e).ToString() == "10.9.8.7:1234");
}

}  // namespace lanswarm::net
