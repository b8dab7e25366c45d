// The loop moving real bytes over loopback: echo of 1 KiB to 64 MiB,
// 1,000 concurrent connections, a peer closing mid-message, and a buffer
// ring small enough to run dry.
#include <cstring>

#include <catch2/catch.hpp>

#include "common/net/connection.h"
#include "common/net/loop.h"
#include "tests/support/net_helpers.h"
#include "tests/support/blob_reader.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::net {

using testing::BlobReader;
using namespace std::chrono_literals;
using testing::AnyLoopbackPort;
using testing::MakeLoop;

namespace {

// Echoes every blob back, header and all.
class EchoServer : public ConnectionHandler {
 public:
  void OnData(Connection& c, ByteView data) override { reader_.OnData(c, data); }
  void OnClosed(Connection&, const Status&) override {}

 private:
  BlobReader reader_{[](Connection& c, std::shared_ptr<AlignedBuffer> blob) {
    const std::size_t n = blob->size();
    c.Send(BlobReader::Header(n));
    c.Send(std::move(blob), 0, n);
  }};
};

// A deadline for a test's loop, so a bug fails the test instead of hanging it.
void Deadline(Loop& loop, Clock::Duration d, bool* expired) {
  loop.AddTimer(d, [&loop, expired] {
    *expired = true;
    loop.Stop();
  });
}

}  // namespace

TEST_CASE("loop: byte-exact echo of messages from 1 KiB to 64 MiB", "[loop][echo]") {
  auto loop = MakeLoop();
  auto addr = loop->Listen(AnyLoopbackPort(), [](const SocketAddress&) { return std::make_unique<EchoServer>(); });
  REQUIRE(addr.ok());

  const std::vector<std::size_t> sizes = {1024, 4097, 65536, (1u << 20) + 7, 16u << 20, 64u << 20};
  std::vector<std::string> sent;
  for (std::size_t i = 0; i < sizes.size(); ++i) sent.push_back(testing::RandomBytes(sizes[i], 100 + i));

  // Results live here: the loop frees the handler when its connection closes.
  std::size_t matched = 0, mismatched = 0;
  struct Client : ConnectionHandler {
    std::vector<std::string>* sent;
    std::size_t *matched, *mismatched;
    BlobReader reader{[this](Connection& c, std::shared_ptr<AlignedBuffer> blob) {
      const std::string& want = (*sent)[*matched + *mismatched];
      if (blob->size() == want.size() && std::memcmp(blob->data(), want.data(), want.size()) == 0) {
        ++*matched;
      } else {
        ++*mismatched;
      }
      if (*matched + *mismatched == sent->size()) {
        c.Close();
        c.loop().Stop();
      }
    }};
    void OnConnected(Connection& c) override {
      for (const std::string& s : *sent) {
        c.Send(BlobReader::Header(s.size()));
        c.Send(Bytes(s.begin(), s.end()));
      }
    }
    void OnData(Connection& c, ByteView data) override { reader.OnData(c, data); }
    void OnClosed(Connection& c, const Status&) override { c.loop().Stop(); }
  };
  auto client = std::make_unique<Client>();
  client->sent = &sent;
  client->matched = &matched;
  client->mismatched = &mismatched;
  loop->Connect(*addr, 2s, std::move(client));
  bool expired = false;
  Deadline(*loop, 60s, &expired);
  REQUIRE(loop->Run().ok());
  CHECK_FALSE(expired);
  CHECK(matched == sizes.size());
  CHECK(mismatched == 0);
}

TEST_CASE("loop: 1,000 concurrent connections each get their own echo", "[loop][echo]") {
  auto loop = MakeLoop();
  auto addr = loop->Listen(AnyLoopbackPort(), [](const SocketAddress&) { return std::make_unique<EchoServer>(); });
  REQUIRE(addr.ok());
  constexpr int kClients = 1000;
  int done = 0, wrong = 0, failed = 0;

  struct Client : ConnectionHandler {
    std::string msg;
    int *done, *wrong, *failed;
    bool got = false;
    BlobReader reader{[this](Connection& c, std::shared_ptr<AlignedBuffer> blob) {
      got = true;
      if (std::string(reinterpret_cast<const char*>(blob->data()), blob->size()) == msg) {
        ++*done;
      } else {
        ++*wrong;
      }
      c.Close();
      if (*done + *wrong + *failed == kClients) c.loop().Stop();
    }};
    void OnConnected(Connection& c) override {
      c.Send(BlobReader::Header(msg.size()));
      c.Send(Bytes(msg.begin(), msg.end()));
    }
    void OnData(Connection& c, ByteView data) override { reader.OnData(c, data); }
    void OnClosed(Connection& c, const Status& why) override {
      if (got) return;
      UNSCOPED_INFO(why.ToString());
      ++*failed;
      if (*done + *wrong + *failed == kClients) c.loop().Stop();
    }
  };
  for (int i = 0; i < kClients; ++i) {
    auto c = std::make_unique<Client>();
    c->msg = "client " + std::to_string(i) + std::string(static_cast<std::size_t>(i % 97), '.');
    c->done = &done;
    c->wrong = &wrong;
    c->failed = &failed;
    loop->Connect(*addr, 10s, std::move(c));
  }
  CHECK(loop->connection_count() == kClients);
  bool expired = false;
  Deadline(*loop, 60s, &expired);
  REQUIRE(loop->Run().ok());
  CHECK_FALSE(expired);
  CHECK(done == kClients);
  CHECK(wrong == 0);
  CHECK(failed == 0);
}

TEST_CASE("loop: a peer that closes mid-message fails the pending receive, once", "[loop][echo]") {
  auto loop = MakeLoop();
  struct Server : ConnectionHandler {
    Status* bulk_status;
    Status* closed_why;
    int* closes;
    AlignedBuffer buf{1 << 20};
    bool started = false;
    void OnData(Connection& c, ByteView) override {
      if (started) return;
      started = true;
      // Expect a whole MiB; the client will send far less, then hang up.
      c.ReceiveInto(buf.data(), buf.size(), [this](const Status& s) { *bulk_status = s; });
    }
    void OnClosed(Connection& c, const Status& why) override {
      *closed_why = why;
      ++*closes;
      c.loop().Stop();
    }
  };
  Status bulk_status, closed_why;
  int closes = 0;
  auto addr = loop->Listen(AnyLoopbackPort(), [&](const SocketAddress&) {
    auto s = std::make_unique<Server>();
    s->bulk_status = &bulk_status;
    s->closed_why = &closed_why;
    s->closes = &closes;
    return s;
  });
  REQUIRE(addr.ok());
  struct Client : ConnectionHandler {
    void OnConnected(Connection& c) override {
      c.Send(Bytes(1000, 0x42));
      c.CloseAfterSending(Status::Ok());
    }
    void OnData(Connection&, ByteView) override {}
    void OnClosed(Connection&, const Status&) override {}
  };
  loop->Connect(*addr, 2s, std::make_unique<Client>());
  bool expired = false;
  Deadline(*loop, 10s, &expired);
  REQUIRE(loop->Run().ok());
  CHECK_FALSE(expired);
  CHECK(closes == 1);
  CHECK_FALSE(bulk_status.ok());
  CHECK(closed_why.message().find("closed by peer") != std::string::npos);
}

TEST_CASE("loop: a buffer ring that runs dry loses no byte", "[loop][echo]") {
  LoopOptions options;
  options.recv_buffers = 2;  // multishot recv ends with ENOBUFS over and over
  options.recv_buffer_size = 1024;
  auto loop = MakeLoop(options);
  const std::string payload = testing::RandomBytes(512 * 1024, 7);
  std::string received;
  struct Sink : ConnectionHandler {
    std::string* out;
    std::size_t want;
    void OnData(Connection& c, ByteView data) override {
      out->append(reinterpret_cast<const char*>(data.data()), data.size());
      if (out->size() >= want) c.loop().Stop();
    }
    void OnClosed(Connection& c, const Status&) override { c.loop().Stop(); }
  };
  auto addr = loop->Listen(AnyLoopbackPort(), [&](const SocketAddress&) {
    auto s = std::make_unique<Sink>();
    s->out = &received;
    s->want = payload.size();
    return s;
  });
  REQUIRE(addr.ok());
  struct Source : ConnectionHandler {
    const std::string* data;
    void OnConnected(Connection& c) override { c.Send(Bytes(data->begin(), data->end())); }
    void OnData(Connection&, ByteView) override {}
    void OnClosed(Connection&, const Status&) override {}
  };
  auto src = std::make_unique<Source>();
  src->data = &payload;
  loop->Connect(*addr, 2s, std::move(src));
  bool expired = false;
  Deadline(*loop, 30s, &expired);
  REQUIRE(loop->Run().ok());
  CHECK_FALSE(expired);
  CHECK(received.size() == payload.size());
  CHECK(received == payload);
}

}  // namespace lanswarm::net
