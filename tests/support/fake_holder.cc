#include "tests/support/fake_holder.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/auth/handshake.h"
#include "common/bitfield.h"
#include "common/proto/codec.h"
#include "common/proto/frame_buffer.h"
#include "tests/support/blocking_tcp.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::testing {

using namespace std::chrono_literals;

FakeHolder::FakeHolder(const FileInfo& info, int coordinator_port, Behaviour behaviour, std::uint8_t id)
    : info_(info), behaviour_(behaviour), id_(id), garbage_(RandomBytes(info.chunk_size, 666)) {
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
    trickling_ = false;
    trickle_left_ = 0;
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
  while (!stop_) {
    ReportIfDue();
    if (trickle_left_ > 0 && std::chrono::steady_clock::now() >= next_byte_) {
      if (!SendAll(fd, garbage_.data(), 1)) return;
      --trickle_left_;
      next_byte_ += 1s;
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
      if (d.state == proto::DecodeState::kError || !Answer(fd, m)) return;
    }
  }
}

bool FakeHolder::Answer(int fd, const proto::Message& m) {
  Bytes out;
  if (const auto* hello = std::get_if<proto::Hello>(&m)) {
    auto reply = handshake_->OnHello(*hello);
    if (!reply.ok()) return false;
    out = proto::EncodeFrame(*reply);
  } else if (const auto* a = std::get_if<proto::Auth>(&m)) {
    if (!handshake_->OnAuth(*a).ok()) return false;
  } else if (const auto* open = std::get_if<proto::Open>(&m)) {
    if (behaviour_ == Behaviour::kMute) return true;
    out = proto::EncodeFrame(
        proto::Bitfield{open->slot, info_.chunk_count(), Bitfield(info_.chunk_count(), true).bytes()});
  } else if (const auto* req = std::get_if<proto::Request>(&m)) {
    ++requests_;
    const std::uint32_t len = info_.layout().length(req->index);
    if (behaviour_ == Behaviour::kGarbage) {
      out = proto::EncodeFrame(proto::ChunkHeader{req->slot, req->index, len});
      out.insert(out.end(), garbage_.begin(), garbage_.begin() + len);
    } else if (behaviour_ == Behaviour::kTrickle && !trickling_) {
      // Only the connection's first request: the header of a second CHUNK
      // would land in the middle of the first one's bytes.
      out = proto::EncodeFrame(proto::ChunkHeader{req->slot, req->index, len});
      trickling_ = true;
      trickle_left_ = len;
      next_byte_ = std::chrono::steady_clock::now() + 1s;
    }
  } else if (std::holds_alternative<proto::Error>(m)) {
    return false;
  }
  return out.empty() || SendAll(fd, out.data(), out.size());
}

}  // namespace lanswarm::testing
