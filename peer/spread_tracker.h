// The first copy of every chunk before a second copy of any: a seed's upload
// is the scarcest link of a swarm that starts from one whole copy (it bounds
// the makespan at file size / seed upload), so every byte it sends should be
// one the swarm does not have yet. Getters pick rarest-first from their own
// view, and two of them can ask the seed for the same chunk before either
// announces it; the tracker lets the seed answer the second REJECT
// elsewhere, and the getter fetches that chunk from the first one instead.
//
// Once every chunk has gone out, everything is served: progress never
// depends on the other getters being reachable for longer than one pass of
// the file over the seed's link. A chunk counts as out only while the peer
// it went to is connected: when that peer leaves (it finished, crashed or
// gave up) before the pass is complete, its chunks count as unsent again.
// Otherwise a seed whose other chunks are served by another seed never
// completes its pass, and a later getter that needs a chunk this seed sent
// to someone long gone is told "elsewhere" for ever. Pure; one per whole
// file a peer serves.
#pragma once

#include <cstdint>

#include "common/bitfield.h"

namespace lanswarm::peer {

class SpreadTracker {
 public:
  explicit SpreadTracker(std::uint32_t chunk_count) : sent_(chunk_count), unsent_(chunk_count) {}

  // True when `index` should be sent now; false when it went out before
  // and some other chunk never has.
  bool ShouldSend(std::uint32_t index) const { return unsent_ == 0 || index >= sent_.size() || !sent_.has(index); }

  // `index` is being sent.
  void OnSent(std::uint32_t index) {
    if (index >= sent_.size() || sent_.has(index)) return;
    sent_.set(index);
    --unsent_;
  }

  // The peer `index` was sent to has gone: nobody may hold that copy.
  void OnLost(std::uint32_t index) {
    if (index >= sent_.size() || !sent_.has(index)) return;
    sent_.clear(index);
    ++unsent_;
  }

  // Every chunk has gone out at least once.
  bool spread() const { return unsent_ == 0; }
  std::uint32_t unsent() const { return unsent_; }

 private:
  Bitfield sent_;
  std::uint32_t unsent_;
};

}  // namespace lanswarm::peer
