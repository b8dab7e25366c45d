#include "tests/support/lying_holder.h"

#include "common/bitfield.h"
#include "common/proto/codec.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::testing {

LyingHolder::LyingHolder(const FileInfo& info, Behaviour behaviour, Payload payload)
    : info_(info),
      behaviour_(behaviour),
      payload_(std::move(payload)),
      garbage_(behaviour == Behaviour::kGarbage && !payload_ ? RandomBytes(info.chunk_size, 666) : std::string()) {}

Bytes LyingHolder::Answer(const proto::Message& m, Clock::TimePoint now) {
  if (const auto* open = std::get_if<proto::Open>(&m)) {
    if (open->file != info_.id) {
      return proto::EncodeFrame(proto::Reject{open->slot, proto::kWholeFile, proto::RejectReason::kUnknownFile});
    }
    if (behaviour_ == Behaviour::kMute) return {};
    return proto::EncodeFrame(
        proto::Bitfield{open->slot, info_.chunk_count(), Bitfield(info_.chunk_count(), true).bytes()});
  }
  const auto* req = std::get_if<proto::Request>(&m);
  if (req == nullptr || req->index >= info_.chunk_count()) return {};
  ++requests_;
  const std::uint32_t len = info_.layout().length(req->index);
  Bytes out;
  if (behaviour_ == Behaviour::kGarbage) {
    out = proto::EncodeFrame(proto::ChunkHeader{req->slot, req->index, len});
    if (payload_) {
      const std::string made = payload_(req->index, len);
      out.insert(out.end(), made.begin(), made.end());
    } else {
      out.insert(out.end(), garbage_.begin(), garbage_.begin() + len);
    }
  } else if (behaviour_ == Behaviour::kTrickle && !trickle_started_) {
    // Only the connection's first request: the header of a second CHUNK
    // would land in the middle of the first one's bytes.
    out = proto::EncodeFrame(proto::ChunkHeader{req->slot, req->index, len});
    trickle_started_ = true;
    trickle_left_ = len;
    next_byte_ = now + kTrickleEvery;
  }
  return out;
}

Bytes LyingHolder::Due(Clock::TimePoint now) {
  Bytes out;
  while (trickle_left_ > 0 && now >= next_byte_) {
    out.push_back(0xA5);
    --trickle_left_;
    ++trickled_;
    next_byte_ += kTrickleEvery;
  }
  return out;
}

std::string_view LyingHolder::Name(Behaviour b) {
  switch (b) {
    case Behaviour::kGarbage: return "garbage";
    case Behaviour::kSilent: return "silent";
    case Behaviour::kTrickle: return "trickle";
    case Behaviour::kMute: return "mute";
  }
  return "?";
}

}  // namespace lanswarm::testing
