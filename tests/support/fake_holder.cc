#include "tests/support/fake_holder.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/auth/handshake.h"
#include "common/clock.h"
#include "common/proto/codec.h"
#include "common/proto/frame_buffer.h"
#include "tests/support/blocking_tcp.h"

namespace lanswarm::testing {

using namespace std::chrono_literals;

FakeHolder::FakeHolder(const FileInfo& info, int coordinator_port, Payload payload, std::uint8_t id)
    : FakeHolder(info, coordinator_port, Behaviour::kGarbage, std::move(payload), id) {}

FakeHolder::FakeHolder(const FileInfo& info, int coordinator_port, Behaviour behaviour, std::uint8_t id)
    : FakeHolder(info, coordinator_port, behaviour, nullptr, id) {}

FakeHolder::FakeHolder(const FileInfo& info, int coordinator_port, Behaviour behaviour, Payload payload,
                       std::uint8_t id)
    : info_(info), behaviour_(behaviour), payload_(std::move(payload)), id_(id) {
  sockaddr_in addr;
  listen_fd_ = ListenOnLoopback(&addr);
  REQUIRE(listen_fd_ >= 0);
  port_ = ntohs(addr.sin_port);
  coordinator_ = std::make_unique<ScriptedClient>(coordinator_port);
  REQUIRE(coordinator_->Handshake(id_, proto::Role::kPeer).ok());
  next_report_ = std::chrono::steady_clock::now();
  ReportIfDue();
  thread_ = std::thread([this] { Loop(); });
}

FakeHolder::~FakeHolder() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

void FakeHolder::Report() {
  proto::Report r;
  r.listen.family = 0;  // "the address of this connection, at this port"
  r.listen.port = static_cast<std::uint16_t>(port_);
  r.files.push_back({info_.id, proto::FileState::kWhole});
  coordinator_->Send(r);
}

void FakeHolder::ReportIfDue() {
  if (std::chrono::steady_clock::now() < next_report_) return;
  Report();
  next_report_ += 500ms;
}

void FakeHolder::Loop() {
  while (!stop_) {
    ReportIfDue();
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    ++connections_;
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    Serve(fd);
    ::close(fd);
  }
}

bool FakeHolder::SendAll(int fd, const void* data, std::size_t n) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  while (n > 0) {
    const ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k <= 0) return false;
    p += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

void FakeHolder::Serve(int fd) {
  proto::FrameBuffer frames;
  static const auth::KeyRing kOpen;
  // It proves the id it reports under, as protocol version 2 asks. The
  // handshake keeps a reference to the identity.
  const auth::Identity me = ScriptedClient::IdentityOf(id_);
  auth::AcceptorHandshake hs(kOpen, me, proto::Hello{});
  handshake_ = &hs;
  LyingHolder lie(info_, behaviour_, payload_);
  while (!stop_) {
    ReportIfDue();
    if (const Bytes due = lie.Due(SteadyClock::Instance().now()); !due.empty() && !SendAll(fd, due.data(), due.size())) {
      return;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    std::uint8_t buf[65536];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;  // the getter closed (it dropped or banned us)
    frames.Append(ByteView(buf, static_cast<std::size_t>(n)));
    for (;;) {
      proto::Message m;
      const proto::Decoded d = frames.Next(&m);
      if (d.state == proto::DecodeState::kNeedMore) break;
      if (d.state == proto::DecodeState::kError || !Answer(fd, lie, m)) return;
    }
  }
}

bool FakeHolder::Answer(int fd, LyingHolder& lie, const proto::Message& m) {
  Bytes out;
  if (const auto* hello = std::get_if<proto::Hello>(&m)) {
    auto reply = handshake_->OnHello(*hello);
    if (!reply.ok()) return false;
    out = proto::EncodeFrame(*reply);
  } else if (const auto* a = std::get_if<proto::Auth>(&m)) {
    if (!handshake_->OnAuth(*a).ok()) return false;
  } else if (std::holds_alternative<proto::Error>(m)) {
    return false;
  } else {
    const std::uint32_t before = lie.requests();
    out = lie.Answer(m, SteadyClock::Instance().now());
    requests_ += static_cast<int>(lie.requests() - before);
  }
  return out.empty() || SendAll(fd, out.data(), out.size());
}

}  // namespace lanswarm::testing
