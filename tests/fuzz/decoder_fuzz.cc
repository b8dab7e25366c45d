// libFuzzer target for the frame decoder and the incremental frame buffer,
// on a whole stream of frames of any type (message_fuzz.cc takes one type
// at a time).
// Properties checked on every input, besides "no crash, no sanitizer report":
//  - a frame that decodes re-encodes to the very same bytes, which decode to
//    the same message (every accepted frame is canonical; see message_fuzz.cc);
//  - feeding the input through FrameBuffer in two pieces yields exactly the
//    frames that decoding it in one piece yields.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "common/proto/codec.h"
#include "common/proto/frame_buffer.h"

using namespace lanswarm;
using namespace lanswarm::proto;

namespace {

// Decodes frames from the front of `fb` until it needs more or fails; CHUNK
// data is skipped as raw bytes the way a connection would take it.
void Drain(FrameBuffer& fb, std::vector<Message>* out, bool* failed, std::size_t* raw_left) {
  static std::uint8_t sink[1 << 16];
  for (;;) {
    while (*raw_left > 0 && fb.size() > 0) *raw_left -= fb.TakeRaw(sink, std::min(*raw_left, sizeof sink));
    if (*raw_left > 0 || *failed) return;
    Message m;
    Decoded d = fb.Next(&m);
    if (d.state == DecodeState::kNeedMore) return;
    if (d.state == DecodeState::kError) {
      *failed = true;
      return;
    }
    if (auto* chunk = std::get_if<ChunkHeader>(&m)) *raw_left = chunk->length;
    out->push_back(std::move(m));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView in(data, size);

  Message m;
  Decoded d = DecodeFrame(in, kMaxFramePayload, &m);
  if (d.state == DecodeState::kComplete) {
    if (d.frame_size > size) std::abort();
    const Bytes again = EncodeFrame(m);
    if (again.size() != d.frame_size || !std::equal(again.begin(), again.end(), data)) std::abort();
    Message m2;
    Decoded d2 = DecodeFrame(again, kMaxFramePayload, &m2);
    if (d2.state != DecodeState::kComplete || d2.frame_size != again.size() || !(m2 == m)) std::abort();
  }

  // Whole versus split at a point chosen by the input itself.
  const std::size_t cut = size == 0 ? 0 : data[0] % (size + 1);
  std::vector<Message> whole, split;
  bool whole_failed = false, split_failed = false;
  std::size_t raw_whole = 0, raw_split = 0;
  FrameBuffer a;
  a.Append(in);
  Drain(a, &whole, &whole_failed, &raw_whole);
  FrameBuffer b;
  b.Append(in.first(cut));
  Drain(b, &split, &split_failed, &raw_split);
  b.Append(in.subspan(cut));
  Drain(b, &split, &split_failed, &raw_split);
  if (whole != split || whole_failed != split_failed) std::abort();
  return 0;
}
