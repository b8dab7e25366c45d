// Bytes from a stream in, whole messages out: the incremental parser of a
// connection, tested without sockets.
//
// After a CHUNK header, the chunk's raw bytes follow in the stream. Next()
// returns the header; the caller then takes what is already buffered with
// TakeRaw() and receives the rest straight into its chunk buffer.
#pragma once

#include <cstdint>

#include "common/bytes.h"
#include "common/proto/codec.h"
#include "common/status.h"

namespace lanswarm::proto {

class FrameBuffer {
 public:
  // max_payload: this connection's limit, at most kMaxFramePayload.
  explicit FrameBuffer(std::uint32_t max_payload = kMaxFramePayload) : max_payload_(max_payload) {}

  void Append(ByteView data);
  // Changes the limit for frames not yet decoded (a session raises it once
  // the other side has proved the key).
  void set_max_payload(std::uint32_t max_payload) { max_payload_ = max_payload; }

  // Decodes and removes the next frame. After kError the buffer is useless:
  // the stream is out of sync and the connection must be closed.
  Decoded Next(Message* out);

  // Moves up to `max` buffered bytes that follow the last frame into dst and
  // returns how many: the first bytes of a chunk after its header.
  std::size_t TakeRaw(std::uint8_t* dst, std::size_t max);

  std::size_t size() const { return buf_.size() - pos_; }

  // OK when the stream may end here; otherwise an error saying what was cut
  // (the other side closed in the middle of a frame).
  Status CheckCleanEnd() const;

 private:
  void Compact();

  std::uint32_t max_payload_;
  Bytes buf_;
  std::size_t pos_ = 0;  // start of undecoded bytes in buf_
};

}  // namespace lanswarm::proto
