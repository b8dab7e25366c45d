#include "peer/fetch_session.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/proto/codec.h"

namespace lanswarm::peer {

namespace {
constexpr std::size_t kPieceSize = 1u << 20;
}  // namespace

FetchSession::FetchSession(std::weak_ptr<FetchEvents> events, PeerKey key, const proto::PeerId& self,
                           std::shared_ptr<const auth::KeyRing> keys, std::shared_ptr<const FileInfo> info)
    : events_(std::move(events)),
      key_(key),
      keys_(std::move(keys)),
      handshake_(*keys_, proto::MakeHello(proto::Role::kPeer, self)),
      info_(std::move(info)) {}

// OPEN waits for the other side's HELLO: with a cluster key, the AUTH that
// must precede it depends on that HELLO's nonce.
void FetchSession::OnConnected(net::Connection& c) {
  conn_ = &c;
  c.Send(proto::EncodeFrame(handshake_.hello()));
  ReadHeader();
  if (auto e = events_.lock()) e->OnFetchConnected(key_, this);
}

void FetchSession::OnClosed(net::Connection&, const Status& why) {
  conn_ = nullptr;
  if (auto e = events_.lock()) e->OnFetchClosed(key_, why);
}

void FetchSession::Request(const std::vector<std::uint32_t>& chunks) {
  if (conn_ == nullptr || conn_->closing() || chunks.empty()) return;
  Bytes out;
  for (std::uint32_t i : chunks) proto::EncodeFrame(proto::Request{kSlot, i}, &out);
  conn_->Send(std::move(out));
}

void FetchSession::Cancel(std::uint32_t index) {
  if (conn_ == nullptr || conn_->closing()) return;
  conn_->Send(proto::EncodeFrame(proto::Cancel{kSlot, index}));
}

void FetchSession::Close(const Status& why) {
  if (conn_ != nullptr) conn_->Close(why);
}

void FetchSession::Fail(const std::string& why, proto::ErrorCode code) {
  if (conn_ == nullptr) return;
  spdlog::warn("{}: {}; dropping this peer", conn_->peer().ToString(), why);
  conn_->Send(proto::EncodeFrame(proto::Error{code, why}));
  conn_->CloseAfterSending(Status::Corruption(why), std::chrono::seconds(1));
}

void FetchSession::ReadHeader() {
  conn_->ReceiveInto(header_.data(), header_.size(), [this](const Status& s) {
    if (s.ok()) OnHeader();
  });
}

void FetchSession::OnHeader() {
  const std::uint32_t len = LoadLE<std::uint32_t>(header_.data());
  if (len > kMaxPayload) return Fail(fmt::format("a {}-byte frame is over this connection's limit", len));
  frame_.assign(header_.begin(), header_.end());
  if (len == 0) return OnFrame();
  frame_.resize(header_.size() + len);
  conn_->ReceiveInto(frame_.data() + header_.size(), len, [this](const Status& s) {
    if (s.ok()) OnFrame();
  });
}

void FetchSession::OnFrame() {
  proto::Message m;
  const proto::Decoded d = proto::DecodeFrame(frame_, kMaxPayload, &m);
  if (d.state != proto::DecodeState::kComplete) {
    return Fail(d.state == proto::DecodeState::kError ? d.error : "truncated frame");
  }
  auto events = events_.lock();
  if (!events) return Close(Status::Ok());
  if (!got_hello_) {
    const auto* hello = std::get_if<proto::Hello>(&m);
    if (hello == nullptr) {
      if (const auto* e = std::get_if<proto::Error>(&m)) return Close(Status::IOError("peer says: " + e->reason));
      return Fail(fmt::format("expected HELLO first, got {}", proto::MessageTypeName(proto::TypeOf(m))));
    }
    auto auth = handshake_.OnHello(*hello);
    if (!auth.ok()) return Fail(auth.status().message(), auth::HandshakeErrorCode(auth.status()));
    got_hello_ = true;
    Bytes out;
    if (auth->has_value()) proto::EncodeFrame(**auth, &out);
    proto::EncodeFrame(proto::Open{kSlot, info_->id}, &out);
    conn_->Send(std::move(out));
    return ReadHeader();
  }
  const std::uint32_t count = info_->chunk_count();
  if (const auto* h = std::get_if<proto::ChunkHeader>(&m)) {
    if (h->slot != kSlot || h->index >= count || h->length != info_->layout().length(h->index)) {
      return Fail(fmt::format("CHUNK {} of {} bytes does not fit the file", h->index, h->length));
    }
    chunk_ = h->index;
    chunk_len_ = h->length;
    chunk_got_ = 0;
    hash_.Reset();
    chunk_keep_ = events->OnFetchChunkStart(key_, chunk_);
    if (!buffer_) buffer_ = std::make_unique<AlignedBuffer>(std::min<std::size_t>(kPieceSize, info_->chunk_size));
    return ReadPiece();
  }
  if (const auto* b = std::get_if<proto::Bitfield>(&m)) {
    if (b->slot != kSlot || b->chunk_count != count) {
      return Fail(fmt::format("BITFIELD for {} chunks, the file has {}", b->chunk_count, count));
    }
    got_bitfield_ = true;
    events->OnFetchBitfield(key_, Bitfield::FromBytes(count, b->bits));
  } else if (const auto* have = std::get_if<proto::Have>(&m)) {
    if (have->slot != kSlot || have->index >= count) return Fail(fmt::format("HAVE {} is out of range", have->index));
    events->OnFetchHave(key_, have->index);
  } else if (const auto* r = std::get_if<proto::Reject>(&m)) {
    if (r->slot != kSlot) return Fail("REJECT for a slot never opened");
    events->OnFetchReject(key_, r->index, r->reason);
  } else if (const auto* e = std::get_if<proto::Error>(&m)) {
    return Close(Status::IOError("peer says: " + e->reason));
  } else {
    return Fail(fmt::format("unexpected {}", proto::MessageTypeName(proto::TypeOf(m))));
  }
  if (conn_ != nullptr && !conn_->closing()) ReadHeader();
}

void FetchSession::ReadPiece() {
  piece_len_ = static_cast<std::uint32_t>(std::min<std::size_t>(buffer_->size(), chunk_len_ - chunk_got_));
  conn_->ReceiveInto(buffer_->data(), piece_len_, [this](const Status& s) {
    if (s.ok()) OnPiece();
  });
}

void FetchSession::OnPiece() {
  auto events = events_.lock();
  if (!events) return Close(Status::Ok());
  if (chunk_keep_) {
    hash_.Update(buffer_->data(), piece_len_);
    chunk_keep_ = events->OnFetchPiece(key_, chunk_, chunk_got_, buffer_->data(), piece_len_);
  }
  chunk_got_ += piece_len_;
  if (chunk_got_ < chunk_len_) return ReadPiece();
  if (chunk_keep_) events->OnFetchChunkDone(key_, chunk_, hash_.Digest() == info_->chunk_hashes[chunk_]);
  if (conn_ != nullptr && !conn_->closing()) ReadHeader();
}

}  // namespace lanswarm::peer
