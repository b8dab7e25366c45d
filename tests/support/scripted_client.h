// A protocol client for tests, on plain blocking sockets: it sends exactly
// what a test scripts (valid messages or raw garbage) and reads replies
// with a deadline. Independent of common/net, so it can judge it.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/auth/identity.h"
#include "common/auth/key_ring.h"
#include "common/bytes.h"
#include "common/proto/frame_buffer.h"
#include "common/proto/messages.h"
#include "common/status.h"

namespace lanswarm::testing {

class ScriptedClient {
 public:
  // Connects to 127.0.0.1:port, from `source_ip` when given (any 127.x
  // address: a different "host" for per-address limits).
  explicit ScriptedClient(int port, const std::string& source_ip = "");
  // Connects to 127.0.0.1:port and says HELLO as a peer; for the common case.
  static std::unique_ptr<ScriptedClient> Peer(int port, std::uint8_t id = 77);
  ScriptedClient(const ScriptedClient&) = delete;
  ScriptedClient& operator=(const ScriptedClient&) = delete;
  ~ScriptedClient();

  bool connected() const { return fd_ >= 0; }
  void Send(const proto::Message& m);
  void SendRaw(ByteView bytes);
  // HELLO as IdentityOf(id), the other side's HELLO back, then the AUTH
  // that proves the identity and, with `keys`, the cluster key
  // (common/auth/handshake.h). Without `keys`, a side that requires a key
  // gets no AUTH: the test goes on as a client without the key.
  Status Handshake(std::uint8_t id, proto::Role role = proto::Role::kPeer, const auth::KeyRing* keys = nullptr);
  // The next message, or an error on timeout, close or malformed data.
  Result<proto::Message> Receive(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // The next n raw bytes of the stream (a chunk's data after its header).
  Result<Bytes> ReceiveRaw(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // True when the other side closes within `timeout` (draining anything it sends).
  bool WaitClosed(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // TestIdentity(id) (tests/support/test_identity.h), and its peer id.
  static auth::Identity IdentityOf(std::uint8_t id);
  static proto::PeerId IdOf(std::uint8_t id);

 private:
  int fd_ = -1;
  proto::FrameBuffer frames_;
};

}  // namespace lanswarm::testing
