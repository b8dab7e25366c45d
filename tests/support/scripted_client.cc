#include "tests/support/scripted_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/auth/handshake.h"
#include "common/proto/codec.h"
#include "tests/support/test_identity.h"

namespace lanswarm::testing {

ScriptedClient::ScriptedClient(int port, const std::string& source_ip) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (!source_ip.empty()) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    ::inet_pton(AF_INET, source_ip.c_str(), &src.sin_addr);
    ::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return;
  }
  fd_ = fd;
}

ScriptedClient::~ScriptedClient() {
  if (fd_ >= 0) ::close(fd_);
}

auth::Identity ScriptedClient::IdentityOf(std::uint8_t id) { return TestIdentity(id); }

proto::PeerId ScriptedClient::IdOf(std::uint8_t id) { return IdentityOf(id).peer_id(); }

void ScriptedClient::SendRaw(ByteView bytes) {
  std::size_t off = 0;
  while (fd_ >= 0 && off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;  // the other side closed: tests check that separately
    off += static_cast<std::size_t>(n);
  }
}

void ScriptedClient::Send(const proto::Message& m) { SendRaw(proto::EncodeFrame(m)); }

Status ScriptedClient::Handshake(std::uint8_t id, proto::Role role, const auth::KeyRing* keys) {
  static const auth::KeyRing kOpen;
  const auth::Identity me = IdentityOf(id);
  proto::Hello mine;
  mine.role = role;
  auth::ConnectorHandshake hs(keys != nullptr ? *keys : kOpen, me, mine);
  Send(hs.hello());
  auto reply = Receive();
  if (!reply.ok()) return reply.status();
  const auto* hello = std::get_if<proto::Hello>(&*reply);
  if (hello == nullptr) return Status::Corruption("no HELLO back");
  // Without keys against a keyed side: a test of what a client without the key gets.
  if (keys == nullptr && !hello->auth.empty()) return Status::Ok();
  auto proof = hs.OnHello(*hello);
  if (!proof.ok()) return proof.status();
  Send(*proof);
  return Status::Ok();
}

Result<proto::Message> ScriptedClient::Receive(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    proto::Message m;
    const proto::Decoded d = frames_.Next(&m);
    if (d.state == proto::DecodeState::kComplete) return m;
    if (d.state == proto::DecodeState::kError) return Status::Corruption(d.error);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::IOError("timed out");
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    std::uint8_t buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return Status::IOError("closed");
    frames_.Append(ByteView(buf, static_cast<std::size_t>(n)));
  }
}

std::unique_ptr<ScriptedClient> ScriptedClient::Peer(int port, std::uint8_t id) {
  auto c = std::make_unique<ScriptedClient>(port);
  if (!c->connected() || !c->Handshake(id).ok()) return nullptr;
  return c;
}

Result<Bytes> ScriptedClient::ReceiveRaw(std::size_t n, std::chrono::milliseconds timeout) {
  Bytes out(n);
  std::size_t got = frames_.TakeRaw(out.data(), n);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (got < n) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::IOError("timed out");
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t r = ::recv(fd_, out.data() + got, n - got, 0);
    if (r <= 0) return Status::IOError("closed");
    got += static_cast<std::size_t>(r);
  }
  return out;
}

bool ScriptedClient::WaitClosed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    std::uint8_t buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    if (n > 0) frames_.Append(ByteView(buf, static_cast<std::size_t>(n)));
  }
}

}  // namespace lanswarm::testing
