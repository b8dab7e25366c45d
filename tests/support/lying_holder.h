// What a lying holder answers on one connection, decided without a socket:
// it claims every chunk of one file and then misbehaves in one of the ways
// a getter must survive. Shared by the in-process FakeHolder of the CLI
// tests (tests/support/fake_holder.h, blocking sockets) and the stall_peer
// fault tool of `make test-faults` (tests/support/stall_peer.cc, the
// session layer), so both lie the same way. The handshake is theirs; this
// sees only what comes after it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/proto/messages.h"
#include "fileinfo/fileinfo.h"

namespace lanswarm::testing {

class LyingHolder {
 public:
  enum class Behaviour {
    kGarbage,  // a full BITFIELD, and every REQUEST answered with a CHUNK of the right length full of garbage
    kSilent,   // a full BITFIELD, and nothing ever sent for a REQUEST
    kTrickle,  // a full BITFIELD, and for the first REQUEST a CHUNK header, then one byte of data a second
    kMute,     // OPEN never answered
  };
  static constexpr Clock::Duration kTrickleEvery = std::chrono::seconds(1);
  // For kGarbage: the `len` bytes to send for chunk `index` instead of
  // random ones (crafted chunks, e.g. tests/support/xxh3_collision).
  using Payload = std::function<std::string(std::uint32_t index, std::uint32_t len)>;

  // One connection's script. `info` must outlive it.
  LyingHolder(const FileInfo& info, Behaviour behaviour, Payload payload = nullptr);

  // The bytes to send in answer to one message from the getter (possibly
  // none): for an OPEN of the file a full BITFIELD (REJECT unknown file for
  // another), for a REQUEST whatever the behaviour says; nothing for the rest.
  Bytes Answer(const proto::Message& m, Clock::TimePoint now);
  // kTrickle: the chunk data due by `now`, one byte per kTrickleEvery after
  // its header went out; empty when none is due.
  Bytes Due(Clock::TimePoint now);
  // A trickle is under way: Due has bytes to give, in time.
  bool trickling() const { return trickle_left_ > 0; }

  std::uint32_t requests() const { return requests_; }  // REQUESTs answered by Answer
  std::uint64_t trickled() const { return trickled_; }  // data bytes Due gave out

  static std::string_view Name(Behaviour b);

 private:
  const FileInfo& info_;
  Behaviour behaviour_;
  Payload payload_;
  std::string garbage_;  // one chunk's worth, for kGarbage without a payload
  std::uint32_t requests_ = 0;
  // kTrickle: whether its one CHUNK has begun, how many of its bytes are
  // still to send, and when the next one is due.
  bool trickle_started_ = false;
  std::uint32_t trickle_left_ = 0;
  Clock::TimePoint next_byte_{};
  std::uint64_t trickled_ = 0;
};

}  // namespace lanswarm::testing
