// libFuzzer target for one message decoder, chosen at build time:
//   -DLANSWARM_FUZZ_MESSAGE='"stats_request"'
// names the type as MessageTypeName spells it (any case). The per-type
// decoders are internal to codec.cc, so the input becomes the payload of a
// frame with that type byte, decoded through DecodeFrame. The Makefile
// builds one binary per name in FUZZ_MESSAGES from this one file.
//
// Properties checked on every input, besides "no crash, no sanitizer report":
//  - a complete frame never needs more bytes: the answer is kComplete or
//    kError, and an error is one non-empty line;
//  - every payload the decoder accepts is canonical, so it re-encodes to the
//    very same bytes. This holds for every type because the format has one
//    encoding per message: fields are stored verbatim, padding and spare
//    bits must be zero, counts are exact, and the decoder refuses whatever
//    EncodeFrame would alter (an ERROR reason over kMaxReasonBytes, which
//    the encoder truncates, is already a decode error);
//  - the decoded message is of the fuzzed type and decodes back equal;
//  - the frame cut by one byte needs more, bytes after it are left alone,
//    and a max_payload one byte short of it is an error.
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "common/proto/codec.h"

#ifndef LANSWARM_FUZZ_MESSAGE
#error "build with -DLANSWARM_FUZZ_MESSAGE='\"<message type name>\"'"
#endif

using namespace lanswarm;
using namespace lanswarm::proto;

namespace {

std::uint8_t g_type = 0;

bool SameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "%s property violated: %s\n", LANSWARM_FUZZ_MESSAGE, what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  for (int t = 0; t < 256; ++t) {
    if (SameName(MessageTypeName(static_cast<MessageType>(t)), LANSWARM_FUZZ_MESSAGE)) {
      g_type = static_cast<std::uint8_t>(t);
      return 0;
    }
  }
  std::fprintf(stderr, "no message type is named %s (see MessageTypeName)\n", LANSWARM_FUZZ_MESSAGE);
  std::exit(2);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxFramePayload) return -1;  // not a frame; -max_len keeps inputs far smaller
  Bytes frame;
  PutU32(&frame, static_cast<std::uint32_t>(size));
  PutU8(&frame, g_type);
  PutBytes(&frame, ByteView(data, size));

  Message m;
  const Decoded d = DecodeFrame(frame, kMaxFramePayload, &m);
  if (d.state == DecodeState::kNeedMore) Fail("a whole frame needs more bytes");
  if (d.state == DecodeState::kError) {
    if (d.error.empty() || d.error.find('\n') != std::string::npos) Fail("error is not one line");
    return 0;
  }

  if (d.frame_size != frame.size()) Fail("frame_size is not the frame's size");
  if (static_cast<std::uint8_t>(TypeOf(m)) != g_type) Fail("decoded a message of another type");
  if (EncodeFrame(m) != frame) Fail("an accepted payload does not re-encode to the same bytes");
  Message again;
  const Decoded d2 = DecodeFrame(EncodeFrame(m), kMaxFramePayload, &again);
  if (d2.state != DecodeState::kComplete || !(again == m)) Fail("re-encoded frame decodes differently");

  Message ignored;
  if (DecodeFrame(ByteView(frame).first(frame.size() - 1), kMaxFramePayload, &ignored).state !=
      DecodeState::kNeedMore) {
    Fail("a frame cut by one byte does not need more");
  }
  if (size > 0 &&
      DecodeFrame(frame, static_cast<std::uint32_t>(size - 1), &ignored).state != DecodeState::kError) {
    Fail("max_payload is not enforced");
  }
  Bytes longer = frame;
  PutBytes(&longer, ByteView(data, size));
  Message next;
  const Decoded d3 = DecodeFrame(longer, kMaxFramePayload, &next);
  if (d3.state != DecodeState::kComplete || d3.frame_size != frame.size() || !(next == m)) {
    Fail("bytes after the frame change how it decodes");
  }
  return 0;
}
