#include "peer/fetch_session.h"

#include <fmt/format.h>

namespace lanswarm::peer {

namespace {
constexpr std::size_t kPieceSize = 1u << 20;
}  // namespace

FetchSession::FetchSession(std::weak_ptr<FetchEvents> events, PeerKey key, const proto::PeerId& listed,
                           std::shared_ptr<const auth::Identity> me, std::shared_ptr<const auth::KeyRing> keys,
                           std::shared_ptr<const FileInfo> info)
    : events_(std::move(events)),
      key_(key),
      listed_(listed),
      me_(std::move(me)),
      keys_(std::move(keys)),
      info_(std::move(info)),
      hash_(info_->digest()) {}

void FetchSession::Start(net::Loop& loop, const net::SocketAddress& to, Clock::Duration timeout,
                         std::unique_ptr<FetchSession> session) {
  net::SessionOptions options;
  options.keys = session->keys_;
  options.identity = session->me_;
  options.hello.role = proto::Role::kPeer;
  options.max_payload = kMaxPayload;
  options.exact_reads = true;
  options.fail_action = "dropping this peer";
  net::Session::Connect(loop, to, timeout, std::move(options), std::move(session));
}

void FetchSession::OnReady(net::Session& s) {
  if (s.theirs().peer_id != listed_) {
    // Someone else answers at the listed address (an id another member
    // reported, or a stale entry): whatever it serves must not count
    // against the listed id.
    return s.Close(Status::InvalidArgument(fmt::format("proved peer id {}, not the {} the coordinator listed",
                                                       PeerIdHex(s.theirs().peer_id), PeerIdHex(listed_))));
  }
  session_ = &s;
  s.Send(proto::Open{kSlot, info_->id});
  if (auto e = events_.lock()) e->OnFetchConnected(key_, this);
}

void FetchSession::OnClosed(net::Session&, const Status& why) {
  session_ = nullptr;
  if (auto e = events_.lock()) e->OnFetchClosed(key_, why);
}

void FetchSession::Request(const std::vector<std::uint32_t>& chunks) {
  if (session_ == nullptr || session_->closing() || chunks.empty()) return;
  Bytes out;
  for (std::uint32_t i : chunks) proto::EncodeFrame(proto::Request{kSlot, i}, &out);
  session_->SendFrames(std::move(out));
}

void FetchSession::Cancel(std::uint32_t index) {
  if (session_ == nullptr || session_->closing()) return;
  session_->Send(proto::Cancel{kSlot, index});
}

void FetchSession::Interest(std::uint8_t flags) {
  if (session_ == nullptr || session_->closing()) return;
  session_->Send(proto::Interest{kSlot, flags});
}

void FetchSession::Close(const Status& why) {
  if (session_ != nullptr) session_->Close(why);
}

void FetchSession::OnMessage(net::Session& s, const proto::Message& m) {
  auto events = events_.lock();
  if (!events) return s.Close();
  const std::uint32_t count = info_->chunk_count();
  // The slot first: the reason must name what is wrong, not a count or an
  // index that is fine.
  if (const auto* b = std::get_if<proto::Bitfield>(&m)) {
    if (b->slot != kSlot) return s.Fail(proto::ErrorCode::kProtocol, "BITFIELD for a slot never opened");
    if (b->chunk_count != count) {
      return s.Fail(proto::ErrorCode::kProtocol, fmt::format("BITFIELD for {} chunks, the file has {}", b->chunk_count, count));
    }
    events->OnFetchBitfield(key_, Bitfield::FromBytes(count, b->bits), (b->flags & proto::kBitfieldGrants) != 0);
  } else if (const auto* g = std::get_if<proto::Grant>(&m)) {
    if (g->slot != kSlot) return s.Fail(proto::ErrorCode::kProtocol, "GRANT for a slot never opened");
    events->OnFetchGrant(key_);
  } else if (const auto* have = std::get_if<proto::Have>(&m)) {
    if (have->slot != kSlot) return s.Fail(proto::ErrorCode::kProtocol, "HAVE for a slot never opened");
    if (have->index >= count) {
      return s.Fail(proto::ErrorCode::kProtocol, fmt::format("HAVE {} is out of range", have->index));
    }
    events->OnFetchHave(key_, have->index);
  } else if (const auto* r = std::get_if<proto::Reject>(&m)) {
    if (r->slot != kSlot) return s.Fail(proto::ErrorCode::kProtocol, "REJECT for a slot never opened");
    events->OnFetchReject(key_, r->index, r->reason);
  } else {
    s.Fail(proto::ErrorCode::kProtocol, fmt::format("unexpected {}", proto::MessageTypeName(proto::TypeOf(m))));
  }
}

std::span<std::uint8_t> FetchSession::OnChunkStart(net::Session& s, const proto::ChunkHeader& h) {
  auto events = events_.lock();
  if (!events) {
    s.Close();
    return {};
  }
  if (h.slot != kSlot || h.index >= info_->chunk_count() || h.length != info_->layout().length(h.index)) {
    s.Fail(proto::ErrorCode::kProtocol, fmt::format("CHUNK {} of {} bytes does not fit the file", h.index, h.length));
    return {};
  }
  chunk_ = h.index;
  hash_.Reset();
  chunk_keep_ = events->OnFetchChunkStart(key_, chunk_);
  if (!buffer_) buffer_ = std::make_unique<AlignedBuffer>(std::min<std::size_t>(kPieceSize, info_->chunk_size));
  return {buffer_->data(), buffer_->size()};
}

void FetchSession::OnChunkPiece(net::Session& s, std::uint32_t offset, std::size_t len) {
  auto events = events_.lock();
  if (!events) return s.Close();
  if (!chunk_keep_) return;
  hash_.Update(buffer_->data(), len);
  chunk_keep_ = events->OnFetchPiece(key_, chunk_, offset, buffer_->data(), len);
}

void FetchSession::OnChunkEnd(net::Session& s) {
  auto events = events_.lock();
  if (!events) return s.Close();
  if (chunk_keep_) events->OnFetchChunkDone(key_, chunk_, info_->chunks.Matches(chunk_, hash_.Finish()));
}

}  // namespace lanswarm::peer
