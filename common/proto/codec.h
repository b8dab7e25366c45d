// Frames <-> messages. Encoding appends to a buffer; decoding reads one
// frame from the front of a byte view and answers complete, need-more or
// error with a reason. Every length and count is checked against the bytes
// actually present and against the limits before anything is allocated.
#pragma once

#include <cstdint>
#include <string>

#include "common/bytes.h"
#include "common/proto/messages.h"
#include "common/status.h"

namespace lanswarm::proto {

// Sizes of fixed parts of payloads (doc/protocol.md), shared by the codec
// and by limits computed elsewhere, such as the largest REPORT that a
// coordinator's max_message_bytes admits.
inline constexpr std::size_t kEndpointBytes = 1 + 16 + 2;              // family, address, port
inline constexpr std::size_t kReportHeaderBytes = kEndpointBytes + 8 + 4;  // listen, upload, file count
inline constexpr std::size_t kReportEntryBytes = FileId::kSize + 1;    // file id, state

// The payload bytes of a REPORT of `files` entries.
constexpr std::uint64_t ReportPayloadBytes(std::uint64_t files) {
  return kReportHeaderBytes + kReportEntryBytes * files;
}

// Appends one frame holding `m`. For a ChunkHeader only the header is
// written; the caller sends the chunk's bytes right after it.
// REQUIRES: m is within the limits of doc/protocol.md (what Decode accepts).
void EncodeFrame(const Message& m, Bytes* out);
Bytes EncodeFrame(const Message& m);

enum class DecodeState { kComplete, kNeedMore, kError };

struct Decoded {
  DecodeState state = DecodeState::kNeedMore;
  // kComplete: bytes of the frame (header + payload). A CHUNK's raw data
  // follows these bytes and is not included.
  std::size_t frame_size = 0;
  std::string error;  // kError: one line naming the problem
};

// Decodes the frame at the front of `in` into *out. Payloads longer than
// max_payload (itself at most kMaxFramePayload) are an error as soon as the
// header is seen, before the payload arrives.
Decoded DecodeFrame(ByteView in, std::uint32_t max_payload, Message* out);

// The version both sides speak: the highest in both [min, max] ranges.
Result<std::uint16_t> NegotiateVersion(const Hello& mine, const Hello& theirs);

}  // namespace lanswarm::proto
