#include "common/proto/frame_buffer.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace lanswarm::proto {

void FrameBuffer::Append(ByteView data) {
  Compact();
  buf_.insert(buf_.end(), data.begin(), data.end());
}

void FrameBuffer::Compact() {
  // Move the tail down once at least half the buffer is consumed, so the
  // cost stays linear in the bytes that pass through.
  if (pos_ == 0) return;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ >= buf_.size() / 2) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
}

Decoded FrameBuffer::Next(Message* out) {
  Decoded d = DecodeFrame(ByteView(buf_).subspan(pos_), max_payload_, out);
  if (d.state == DecodeState::kComplete) pos_ += d.frame_size;
  return d;
}

std::size_t FrameBuffer::TakeRaw(std::uint8_t* dst, std::size_t max) {
  const std::size_t n = std::min(max, size());
  if (n > 0) std::memcpy(dst, buf_.data() + pos_, n);
  pos_ += n;
  return n;
}

Status FrameBuffer::CheckCleanEnd() const {
  const std::size_t left = size();
  if (left == 0) return Status::Ok();
  if (left < kFrameHeaderSize) {
    return Status::Corruption(fmt::format("stream ended inside a frame header ({} of {} bytes)", left,
                                          kFrameHeaderSize));
  }
  const std::uint32_t length = LoadLE<std::uint32_t>(buf_.data() + pos_);
  return Status::Corruption(fmt::format("stream ended inside a {} frame ({} of {} payload bytes)",
                                        MessageTypeName(static_cast<MessageType>(buf_[pos_ + 4])),
                                        left - kFrameHeaderSize, length));
}

}  // namespace lanswarm::proto
