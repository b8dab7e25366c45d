// The lies of tests/support/lying_holder.h, which the CLI stall tests
// (FakeHolder) and the hostile_swarm fault scenario (stall_peer) rely on:
// what each behaviour sends for OPEN and REQUEST, and when.
#include <catch2/catch.hpp>

#include "common/bitfield.h"
#include "common/proto/codec.h"
#include "tests/support/lying_holder.h"

namespace lanswarm::testing {

namespace {

using namespace std::chrono_literals;
using Behaviour = LyingHolder::Behaviour;

// Three chunks of 256 KiB and a short last one of 100 bytes.
FileInfo ThreeAndABit() {
  FileInfo info;
  info.name = "f.bin";
  info.chunk_size = 256 * 1024;
  info.size = 3 * 256 * 1024 + 100;
  info.chunks = ChunkDigestList(kDefaultDigest, 4);
  info.id.bytes.fill(0x42);
  return info;
}

// The one frame in `bytes` (and how many raw bytes follow it).
proto::Message OneFrame(const Bytes& bytes, std::size_t* raw_after = nullptr) {
  proto::Message m;
  const proto::Decoded d = proto::DecodeFrame(ByteView(bytes.data(), bytes.size()), proto::kMaxFramePayload, &m);
  REQUIRE(d.state == proto::DecodeState::kComplete);
  if (raw_after != nullptr) {
    *raw_after = bytes.size() - d.frame_size;
  } else {
    REQUIRE(d.frame_size == bytes.size());
  }
  return m;
}

const Clock::TimePoint kT0 = Clock::TimePoint(std::chrono::hours(1));

}  // namespace

TEST_CASE("lying holder: OPEN of its file gets every chunk, except from a mute one; another file is unknown",
          "[lying_holder]") {
  const FileInfo info = ThreeAndABit();
  const Behaviour how = GENERATE(Behaviour::kGarbage, Behaviour::kSilent, Behaviour::kTrickle, Behaviour::kMute);
  CAPTURE(LyingHolder::Name(how));
  LyingHolder lie(info, how);
  const Bytes answer = lie.Answer(proto::Open{7, info.id}, kT0);
  if (how == Behaviour::kMute) {
    CHECK(answer.empty());
  } else {
    const auto b = std::get<proto::Bitfield>(OneFrame(answer));
    CHECK(b.slot == 7);
    CHECK(b.chunk_count == 4);
    CHECK(b.bits == Bitfield(4, true).bytes());
  }
  FileId other = info.id;
  other.bytes[0] ^= 1;
  const auto r = std::get<proto::Reject>(OneFrame(lie.Answer(proto::Open{8, other}, kT0)));
  CHECK(r.slot == 8);
  CHECK(r.reason == proto::RejectReason::kUnknownFile);
}

TEST_CASE("lying holder: a silent one answers no REQUEST; a garbage one sends a CHUNK of the chunk's length",
          "[lying_holder]") {
  const FileInfo info = ThreeAndABit();
  LyingHolder silent(info, Behaviour::kSilent);
  LyingHolder garbage(info, Behaviour::kGarbage);
  for (std::uint32_t index : {0u, 3u}) {
    CAPTURE(index);
    CHECK(silent.Answer(proto::Request{1, index}, kT0).empty());
    std::size_t raw = 0;
    const auto h = std::get<proto::ChunkHeader>(OneFrame(garbage.Answer(proto::Request{1, index}, kT0), &raw));
    CHECK(h.index == index);
    CHECK(h.length == info.layout().length(index));
    CHECK(raw == h.length);
  }
  CHECK(silent.Due(kT0 + 1h).empty());
  CHECK(silent.requests() == 2);
  CHECK(garbage.requests() == 2);
  CHECK(silent.Answer(proto::Request{1, 4}, kT0).empty());  // out of range: not a request it answers
  CHECK(silent.requests() == 2);
}

TEST_CASE("lying holder: a trickler sends its first CHUNK's header, then one byte a second, and nothing else",
          "[lying_holder]") {
  const FileInfo info = ThreeAndABit();
  LyingHolder lie(info, Behaviour::kTrickle);
  std::size_t raw = 1;
  const auto h = std::get<proto::ChunkHeader>(OneFrame(lie.Answer(proto::Request{1, 3}, kT0), &raw));
  CHECK(h.length == 100);
  CHECK(raw == 0);
  CHECK(lie.trickling());
  CHECK(lie.Answer(proto::Request{1, 0}, kT0).empty());  // a second request: no second header
  CHECK(lie.Due(kT0 + 999ms).empty());
  CHECK(lie.Due(kT0 + 1s).size() == 1);
  CHECK(lie.Due(kT0 + 1500ms).empty());
  CHECK(lie.Due(kT0 + 4s).size() == 3);  // late: it catches up, still one a second in all
  CHECK(lie.trickled() == 4);
  CHECK(lie.Due(kT0 + 1h).size() == 96);  // never more than the chunk
  CHECK_FALSE(lie.trickling());
  CHECK(lie.Due(kT0 + 2h).empty());
}

}  // namespace lanswarm::testing
