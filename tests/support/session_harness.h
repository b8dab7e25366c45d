// Fixtures for tests of net::Session, net::SessionPool and their handlers,
// on real loopback sockets and a loop whose timers run on a FakeClock:
//
//  - SessionHarness: the loop, its clock, and drivers that run it until a
//    condition holds or a bounded number of passes is spent (never forever);
//  - SessionLog + RecordingHandler: a handler that writes what it sees as
//    one line per event ("ready", "HAVE 1 3", "closed: why"), so that
//    expectations are tables of strings;
//  - RecordingPool: a SessionPool of RecordingHandlers;
//  - RawLog + ConnectRaw: a bare connection below the session layer, to
//    misbehave as no Session would (no HELLO, garbage frames).
//
// Logs are shared_ptrs: the loop owns the handlers and may call OnClosed as
// late as its destructor, so what they write must outlive it.
//
// Header-only: tests/support/*.cc are linked into the unit tests, which
// have no libnet.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "common/clock.h"
#include "common/net/connection.h"
#include "common/net/loop.h"
#include "common/net/session.h"
#include "common/net/session_pool.h"
#include "common/sodium_init.h"
#include "common/proto/codec.h"
#include "common/proto/frame_buffer.h"
#include "tests/support/net_helpers.h"
#include "tests/support/test_identity.h"

namespace lanswarm::testing {

// Expected and recorded events, one line each.
using Lines = std::vector<std::string>;

inline const char* ErrorCodeName(proto::ErrorCode c) {
  switch (c) {
    case proto::ErrorCode::kProtocol: return "protocol";
    case proto::ErrorCode::kVersion: return "version";
    case proto::ErrorCode::kAuth: return "auth";
    case proto::ErrorCode::kLimit: return "limit";
    case proto::ErrorCode::kInternal: return "internal";
    case proto::ErrorCode::kShuttingDown: return "shutting_down";
  }
  return "?";
}

inline const char* RejectReasonName(proto::RejectReason r) {
  switch (r) {
    case proto::RejectReason::kUnknownFile: return "unknown_file";
    case proto::RejectReason::kNotOpen: return "not_open";
    case proto::RejectReason::kOutOfRange: return "out_of_range";
    case proto::RejectReason::kMissing: return "missing";
    case proto::RejectReason::kBusy: return "busy";
    case proto::RejectReason::kChanged: return "changed";
    case proto::RejectReason::kElsewhere: return "elsewhere";
  }
  return "?";
}

// A bitfield as one character per chunk: "1011".
inline std::string BitString(std::uint32_t count, const Bytes& bits) {
  std::string s;
  for (std::uint32_t i = 0; i < count; ++i) s += (bits[i / 8] >> (i % 8)) & 1 ? '1' : '0';
  return s;
}

// One line naming a message and the fields tests look at: "HAVE 1 3",
// "REJECT 1 file unknown_file", "ERROR protocol: why", "BITFIELD 1 1011".
inline std::string Describe(const proto::Message& m) {
  const std::string name = proto::MessageTypeName(proto::TypeOf(m));
  if (const auto* e = std::get_if<proto::Error>(&m)) return fmt::format("ERROR {}: {}", ErrorCodeName(e->code), e->reason);
  if (const auto* o = std::get_if<proto::Open>(&m)) return fmt::format("OPEN {}", o->slot);
  if (const auto* b = std::get_if<proto::Bitfield>(&m)) {
    return fmt::format("BITFIELD {} {}{}", b->slot, BitString(b->chunk_count, b->bits),
                       b->flags & proto::kBitfieldGrants ? " grants" : "");
  }
  if (const auto* g = std::get_if<proto::Grant>(&m)) return fmt::format("GRANT {}", g->slot);
  if (const auto* h = std::get_if<proto::Have>(&m)) return fmt::format("HAVE {} {}", h->slot, h->index);
  if (const auto* r = std::get_if<proto::Request>(&m)) return fmt::format("REQUEST {} {}", r->slot, r->index);
  if (const auto* c = std::get_if<proto::ChunkHeader>(&m)) return fmt::format("CHUNK {} {} {}", c->slot, c->index, c->length);
  if (const auto* c = std::get_if<proto::Cancel>(&m)) return fmt::format("CANCEL {} {}", c->slot, c->index);
  if (const auto* r = std::get_if<proto::Reject>(&m)) {
    return fmt::format("REJECT {} {} {}", r->slot, r->index == proto::kWholeFile ? "file" : std::to_string(r->index),
                       RejectReasonName(r->reason));
  }
  return name;
}

class SessionHarness {
 public:
  explicit SessionHarness(net::LoopOptions options = {}) {
    options.clock = &clock;
    loop = MakeLoop(options);
  }

  // Runs loop passes until `done()` holds, at most `max_passes` of them
  // (each waits at most 5 ms of real time for I/O); returns done().
  bool RunUntil(const std::function<bool()>& done, int max_passes = 2000) {
    for (int i = 0; i < max_passes && !done(); ++i) REQUIRE(loop->RunOnce(std::chrono::milliseconds(5)).ok());
    return done();
  }
  // `passes` passes whatever happens: time for something that should not
  // happen to show itself.
  void Run(int passes = 20) {
    RunUntil([] { return false; }, passes);
  }
  // Moves the fake clock, then runs one pass so that timers now due fire.
  void Advance(Clock::Duration d) {
    clock.Advance(d);
    REQUIRE(loop->RunOnce(Clock::Duration::zero()).ok());
  }

  FakeClock clock;  // declared first: the loop refers to it until it is gone
  std::unique_ptr<net::Loop> loop;
};

// What a RecordingHandler saw, and how it is to behave.
struct SessionLog {
  // Valid from the first callback (or Connect) until OnClosed.
  net::Session* session = nullptr;
  bool ready = false, closed = false;
  int hellos = 0;                        // CheckHello calls (acceptor)
  Status why;                            // OnClosed's
  Lines events;                          // "ready", Describe(message)..., "closed: why" ("closed: ok")
  std::vector<proto::Message> messages;  // what OnMessage got, as received
  std::vector<std::string> chunks;       // exact reads: each complete chunk's bytes

  // Behaviour.
  std::string refuse_hello;                    // non-empty: CheckHello refuses with this
  bool busy = false;                           // what busy() answers
  std::size_t piece_size = 0;                  // exact reads: the buffer size (0: the chunk's length)
  bool record_pieces = false;                  // add "piece OFFSET LEN" and "chunk end" lines
  std::function<void(net::Session&)> on_hello;  // from CheckHello, before it answers
  std::function<void(net::Session&)> on_ready;  // after "ready"

  std::string last() const { return events.empty() ? "" : events.back(); }
};

class RecordingHandler : public net::SessionHandler {
 public:
  explicit RecordingHandler(std::shared_ptr<SessionLog> log) : log_(std::move(log)) {}

  Status CheckHello(net::Session& s, const proto::Hello&) override {
    log_->session = &s;
    ++log_->hellos;
    if (log_->on_hello) log_->on_hello(s);
    return log_->refuse_hello.empty() ? Status::Ok() : Status::InvalidArgument(log_->refuse_hello);
  }
  void OnReady(net::Session& s) override {
    log_->session = &s;
    log_->ready = true;
    log_->events.push_back("ready");
    if (log_->on_ready) log_->on_ready(s);
  }
  void OnMessage(net::Session&, const proto::Message& m) override {
    log_->events.push_back(Describe(m));
    log_->messages.push_back(m);
  }
  std::span<std::uint8_t> OnChunkStart(net::Session&, const proto::ChunkHeader& h) override {
    log_->events.push_back(Describe(h));
    buffer_.assign(log_->piece_size == 0 ? h.length : log_->piece_size, 0);
    chunk_.clear();
    return buffer_;
  }
  void OnChunkPiece(net::Session&, std::uint32_t offset, std::size_t len) override {
    if (log_->record_pieces) log_->events.push_back(fmt::format("piece {} {}", offset, len));
    chunk_.append(reinterpret_cast<const char*>(buffer_.data()), len);
  }
  void OnChunkEnd(net::Session&) override {
    if (log_->record_pieces) log_->events.push_back("chunk end");
    log_->chunks.push_back(std::move(chunk_));
  }
  bool busy() const override { return log_->busy; }
  void OnClosed(net::Session&, const Status& why) override {
    log_->session = nullptr;
    log_->closed = true;
    log_->why = why;
    log_->events.push_back("closed: " + (why.ok() ? std::string("ok") : why.message()));
  }

 private:
  std::shared_ptr<SessionLog> log_;
  Bytes buffer_;
  std::string chunk_;
};

// Connects a RecordingHandler to `to`; log->session is set at once, so a
// test can send before the handshake.
inline std::shared_ptr<SessionLog> ConnectRecorder(net::Loop& loop, const net::SocketAddress& to,
                                                   net::SessionOptions options = {},
                                                   std::shared_ptr<SessionLog> log = std::make_shared<SessionLog>()) {
  log->session = net::Session::Connect(loop, to, std::chrono::seconds(2), std::move(options),
                                       std::make_unique<RecordingHandler>(log));
  return log;
}

// A SessionPool listening on loopback whose every session is a
// RecordingHandler; accepted->at(i) is the log of the i-th one admitted,
// first shaped by `setup` when set.
struct RecordingPool {
  RecordingPool(net::Loop& loop, net::SessionOptions options = {}, net::PoolLimits limits = {},
                std::function<void(SessionLog&)> setup = nullptr)
      : accepted(std::make_shared<std::vector<std::shared_ptr<SessionLog>>>()),
        pool(loop, std::move(options), limits,
             [logs = accepted, setup = std::move(setup)](const net::SocketAddress&) {
               auto log = std::make_shared<SessionLog>();
               if (setup) setup(*log);
               logs->push_back(log);
               return std::make_unique<RecordingHandler>(log);
             }) {
    auto bound = pool.Listen(AnyLoopbackPort());
    REQUIRE(bound.ok());
    address = *bound;
  }
  SessionLog& at(std::size_t i) { return *accepted->at(i); }

  std::shared_ptr<std::vector<std::shared_ptr<SessionLog>>> accepted;
  net::SessionPool pool;
  net::SocketAddress address;
};

// What a bare connection received, decoded, and how it ended.
struct RawLog {
  bool closed = false;
  Status why;
  Lines events;  // Describe() of each frame, then "closed"
  proto::FrameBuffer frames;
};

class RawHandler : public net::ConnectionHandler {
 public:
  RawHandler(std::shared_ptr<RawLog> log, Bytes first) : log_(std::move(log)), first_(std::move(first)) {}
  void OnConnected(net::Connection& c) override {
    if (!first_.empty()) c.Send(std::move(first_));
  }
  void OnData(net::Connection&, ByteView data) override {
    log_->frames.Append(data);
    proto::Message m;
    while (log_->frames.Next(&m).state == proto::DecodeState::kComplete) log_->events.push_back(Describe(m));
  }
  void OnClosed(net::Connection&, const Status& why) override {
    log_->closed = true;
    log_->why = why;
    log_->events.push_back("closed");
  }

 private:
  std::shared_ptr<RawLog> log_;
  Bytes first_;
};

// Connects a bare connection that sends `first` once connected, and
// nothing else.
inline std::shared_ptr<RawLog> ConnectRaw(net::Loop& loop, const net::SocketAddress& to, Bytes first = {}) {
  auto log = std::make_shared<RawLog>();
  loop.Connect(to, std::chrono::seconds(2), std::make_unique<RawHandler>(log, std::move(first)));
  return log;
}

// Frames, concatenated, for raw sends.
inline Bytes Frames(const std::vector<proto::Message>& messages) {
  Bytes out;
  for (const auto& m : messages) proto::EncodeFrame(m, &out);
  return out;
}

// A peer's HELLO and options as TestIdentity(id): the id it proves. The
// HELLO is a valid connector's (its id is its key's; a connector signs in
// AUTH), for raw sends.
inline proto::Hello PeerHello(std::uint8_t id) {
  const auth::Identity me = TestIdentity(id);
  proto::Hello h = proto::MakeHello(proto::Role::kPeer, me.peer_id());
  h.public_key = me.public_key();
  return h;
}

inline net::SessionOptions PeerOptions(std::uint8_t id) {
  net::SessionOptions o;
  o.identity = std::make_shared<const auth::Identity>(TestIdentity(id));
  o.hello = PeerHello(id);
  return o;
}

// A ring of keys made of one repeated byte each, primary first.
inline std::shared_ptr<const auth::KeyRing> Keys(const std::vector<std::uint8_t>& fills) {
  REQUIRE(InitSodium().ok());
  auto ring = std::make_shared<auth::KeyRing>();
  for (std::uint8_t fill : fills) {
    std::array<std::uint8_t, auth::ClusterKey::kSize> b;
    b.fill(fill);
    ring->Add(auth::ClusterKey(b));
  }
  return ring;
}

inline net::SessionOptions With(std::shared_ptr<const auth::KeyRing> keys, std::uint8_t id) {
  net::SessionOptions o = PeerOptions(id);
  o.keys = std::move(keys);
  return o;
}

}  // namespace lanswarm::testing
