// A lanswarm connection as its handlers see it: framed, authenticated
// messages in, messages out. One Session wraps each Connection, on both
// sides, and owns everything the protocol asks of every connection:
//
//  - framing: frames are decoded here (a frame past the limit, or one that
//    does not decode, is a protocol error); in exact-read mode every frame
//    is read with exact-size receives and a CHUNK's data goes straight
//    into the handler's buffer, piece by piece;
//  - the handshake (common/auth/handshake.h), either side: the connector
//    sends HELLO when connected, the acceptor answers it; AUTH when the
//    cluster is keyed. Nothing else is acted on before it succeeds;
//  - "ERROR, then close": Fail() says why and hangs up; an ERROR received
//    ends the session with its reason.
//
// The handler sees OnReady once the handshake is done, then only
// authenticated messages (never HELLO or AUTH, never ERROR). What it sends
// before OnReady waits and goes out, in order, right after the handshake.
//
// Lifetimes: the Loop owns the Connection, the Connection owns the Session,
// the Session owns its handler. A Session* stays valid until the handler's
// OnClosed returns (net/loop.h).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "common/auth/handshake.h"
#include "common/log_limiter.h"
#include "common/net/connection.h"
#include "common/proto/frame_buffer.h"
#include "common/proto/messages.h"

namespace lanswarm::net {

class Session;

class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  // The acceptor's chance to refuse a HELLO it cannot serve (a coordinator
  // asked by a coordinator): an error is sent as ERROR(protocol) and the
  // session closes. Called at most once, for the first HELLO with a version
  // in common, before the reply is sent.
  virtual Status CheckHello(Session&, const proto::Hello&) { return Status::Ok(); }
  // The handshake is done: both sides proved the key, or the cluster is open.
  virtual void OnReady(Session&) {}
  // An authenticated message other than a CHUNK header (exact reads only).
  virtual void OnMessage(Session& s, const proto::Message& m) = 0;
  // Exact reads only: a CHUNK header arrived, its `length` bytes follow.
  // Returns the buffer the data is received into, one piece at a time; an
  // empty span means the handler refused it (it called Fail or Close).
  virtual std::span<std::uint8_t> OnChunkStart(Session&, const proto::ChunkHeader&) { return {}; }
  // `len` bytes of the chunk, at `offset` within it, now in the buffer.
  virtual void OnChunkPiece(Session&, std::uint32_t /*offset*/, std::size_t /*len*/) {}
  virtual void OnChunkEnd(Session&) {}
  // A queued message has been handed to the kernel (for pacing producers).
  virtual void OnSent(Session&) {}
  // Whether the handler has work under way for the other side (requests
  // queued, a read in flight): such a session is not idle (SessionPool).
  virtual bool busy() const { return false; }
  // The last call; `why` is OK after a plain local Close().
  virtual void OnClosed(Session& s, const Status& why) = 0;
};

// Counts shared by the sessions of one listener or one client.
struct SessionCounters {
  std::uint64_t protocol_errors = 0;  // sessions this side ended with ERROR
  std::uint64_t auth_failures = 0;    // handshakes refused for the key
};

struct SessionOptions {
  enum class Side { kConnector, kAcceptor };
  Side side = Side::kConnector;
  // Empty ring: an open cluster. Shared, so the handshake can refer to it.
  std::shared_ptr<const auth::KeyRing> keys = std::make_shared<auth::KeyRing>();
  // This side's key pair: its peer id is the key's (auth::PeerIdOf). Null:
  // an ephemeral one, made for this session (a tool, the coordinator).
  std::shared_ptr<const auth::Identity> identity;
  proto::Hello hello;  // role and versions; the handshake adds id, key, nonce and proofs
  std::uint32_t max_payload = proto::kMaxFramePayload;
  // The limit until the handshake is done: HELLO, AUTH and ERROR are small,
  // so a client that has proved nothing cannot make us buffer megabytes.
  std::uint32_t max_payload_before_ready = 4096;
  // Back-pressure: while more than this many reply bytes (frames, not chunk
  // data) wait for a client that does not read, its further requests are
  // not read either. 0: no bound.
  std::size_t max_unsent_replies = 1u << 20;
  // Read frames with exact-size receives (chunk data into the handler's
  // buffer, no copy) instead of multishot receives into a frame buffer.
  bool exact_reads = false;
  // How long an ERROR may take to leave before the connection is cut.
  Clock::Duration error_linger = std::chrono::seconds(1);
  // Where Fail's warnings are budgeted and what it counts; null: every
  // warning is logged, nothing is counted.
  LogLimiter* warnings = nullptr;
  SessionCounters* counters = nullptr;
  // Kept alive as long as the session: what `warnings` and `counters`
  // point into, when the session may outlive its owner (net/loop.h).
  std::shared_ptr<const void> owner;
  // Fail() logs at warn with this after the reason ("closing the
  // connection", "dropping this peer").
  std::string fail_action = "closing the connection";
  // Called once the handshake is done, before the handler's OnReady, and
  // once the session has closed, after the handler's OnClosed (a
  // SessionPool counts its sessions with them).
  std::function<void(Session&)> on_ready;
  std::function<void(Session&)> on_closed;
};

class Session final : public ConnectionHandler {
 public:
  Session(SessionOptions options, std::unique_ptr<SessionHandler> handler);
  ~Session() override;

  // Connects to `to` and runs `handler` on the session; the handler gets
  // OnReady, or OnClosed with why the connection or the handshake failed.
  // The Session* is valid until the handler's OnClosed returns.
  static Session* Connect(Loop& loop, const SocketAddress& to, Clock::Duration timeout, SessionOptions options,
                          std::unique_ptr<SessionHandler> handler);

  void Send(const proto::Message& m);
  // An encoded frame, or several.
  void SendFrames(Bytes frames);
  // A CHUNK header and `len` bytes of `buffer` without a copy.
  void SendChunk(const proto::ChunkHeader& header, std::shared_ptr<const AlignedBuffer> buffer, std::size_t offset);
  // Logs (within the warning budget), sends ERROR(code, reason), closes
  // once it has left. The handler's OnClosed follows.
  void Fail(proto::ErrorCode code, const std::string& reason);
  void Close(const Status& why = Status::Ok());

  bool ready() const { return ready_; }
  // Acceptor: whether the other side's HELLO has arrived (AUTH may follow).
  bool got_hello() const;
  bool closing() const { return conn_ == nullptr || conn_->closing(); }
  const SocketAddress& peer() const { return peer_; }
  // The other side's HELLO. REQUIRES: ready(); its peer_id is then proven
  // (the other side signed the transcript with the key the id comes from).
  const proto::Hello& theirs() const { return theirs_; }
  // Bytes queued, and not yet taken by the kernel.
  std::size_t unsent_bytes() const;
  // Bytes the kernel has taken on this connection (Connection::sent_bytes):
  // a byte queued now has left once this reaches sent_bytes() + unsent_bytes().
  std::uint64_t sent_bytes() const;
  Clock::TimePoint opened() const { return opened_; }
  // The last time bytes came in (while we were reading) or left: what the
  // idle timeout counts from. A client that sends requests but never reads
  // the answers is not active.
  Clock::TimePoint last_activity() const { return last_activity_; }
  Loop& loop() { return *loop_; }
  SessionHandler& handler() { return *handler_; }

  // ConnectionHandler
  void OnConnected(Connection& c) override;
  void OnData(Connection& c, ByteView data) override;
  void OnSent(Connection&) override;
  void OnClosed(Connection& c, const Status& why) override;

 private:
  // Acts on one decoded frame: the handshake's, or the handler's.
  void Handle(proto::Message& m);
  void HandleConnectorHello(const proto::Hello& hello);
  void HandleAcceptorHandshake(const proto::Message& m);
  void FailHandshake(const Status& s);
  void BecomeReady();
  void Queue(Bytes frame);
  // Decodes and acts on buffered frames until none is whole, the session
  // closes, or back-pressure stops it.
  void Drain();
  // True (and reading paused) when the replies waiting pass the bound.
  bool BackedUp();
  // Exact reads.
  void ReadHeader();
  void OnHeader();
  void OnPayload();
  void ReadPiece();
  void OnPiece();

  SessionOptions options_;
  std::unique_ptr<SessionHandler> handler_;
  Loop* loop_ = nullptr;
  Connection* conn_ = nullptr;  // null once closed
  SocketAddress peer_;
  std::variant<auth::ConnectorHandshake, auth::AcceptorHandshake> handshake_;
  bool ready_ = false;
  proto::Hello theirs_;
  Bytes held_;  // sent before ready: goes out after the handshake
  Clock::TimePoint opened_{}, last_activity_{};
  bool backed_up_ = false;  // reading paused until replies drain

  proto::FrameBuffer frames_;  // buffered reads
  // Exact reads: the frame being read, then the chunk whose data is arriving.
  Bytes frame_;
  std::span<std::uint8_t> piece_buffer_;
  std::uint32_t chunk_len_ = 0, chunk_got_ = 0, piece_len_ = 0;
};

}  // namespace lanswarm::net
