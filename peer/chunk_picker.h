// Which chunks to ask a peer for next: rarest first among the chunks that
// peer has and we still need, ties broken by a seeded random order, and an
// endgame for the last chunks. Pure: events in, decisions out (in the shape
// of Transmission's wishlist); no sockets, no clock.
//
// A chunk is needed, in flight (requested from one or more peers), or
// verified. A failed chunk (bad checksum, REJECT, timeout, a peer that went
// away) goes back to needed and is picked again, preferably elsewhere:
// a peer that failed a chunk is not asked for it again while others can be.
// A request the caller marks late (MarkLate) stays in flight but no longer
// keeps the chunk from other peers: a chunk whose every request is late is
// picked again after the needed ones, and in the endgame late requests do
// not count against endgame_duplicates.
#pragma once

#include <cstdint>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/bitfield.h"
#include "common/flat_map.h"

namespace lanswarm::peer {

using PeerKey = std::uint64_t;  // the caller's handle for a peer (a connection id)

class ChunkPicker {
 public:
  // `endgame_duplicates`: in the endgame, how many peers may be asked for
  // the same chunk at once.
  ChunkPicker(std::uint32_t chunk_count, std::uint64_t seed, int endgame_duplicates = 2);

  // Chunks held already (a resumed download): never requested.
  void MarkVerified(std::uint32_t index);

  void OnPeerBitfield(PeerKey peer, const Bitfield& has);
  // True when the chunk is new from this peer and we still need it: only
  // then can the HAVE change what we ask the peer for. A HAVE from a peer
  // whose bitfield has not come (or that is gone) is ignored: on a
  // connection the BITFIELD comes first.
  bool OnPeerHave(PeerKey peer, std::uint32_t index);
  // Forgets the peer's bitfield; its requests in flight go back to needed
  // and count as failed by it (kept if the same key comes back).
  void OnPeerGone(PeerKey peer);

  // Up to n chunks to request from `peer` now, rarest first; each is
  // recorded as in flight from that peer. In the endgame (every needed chunk
  // already in flight) it returns chunks in flight elsewhere that `peer`
  // has, up to endgame_duplicates requests per chunk.
  std::vector<std::uint32_t> Next(PeerKey peer, std::size_t n);

  // The chunk arrived from `peer` and matched its checksum. Returns the
  // other peers it is still requested from: send them CANCEL.
  std::vector<PeerKey> OnVerified(std::uint32_t index, PeerKey peer);
  // The chunk from `peer` failed (bad checksum, REJECT, timeout): it is
  // needed again, and `peer` is not asked for it while others have it.
  void OnFailed(std::uint32_t index, PeerKey peer);
  // `peer`'s request for `index` is late (see above); it stays in flight
  // and still counts if its chunk comes. Once per request; no-op when
  // `index` is not in flight from `peer`.
  void MarkLate(std::uint32_t index, PeerKey peer);

  // A held chunk stays needed but is not picked until released: the retry
  // queue's backoff after repeated failures.
  void Hold(std::uint32_t index);
  void Unhold(std::uint32_t index);

  bool complete() const { return verified_count_ == count_; }
  std::uint32_t verified_count() const { return verified_count_; }
  std::uint32_t chunk_count() const { return count_; }
  bool verified(std::uint32_t index) const { return state_[index] == State::kVerified; }
  // How many known peers have chunk `index`.
  std::uint32_t availability(std::uint32_t index) const { return availability_[index]; }
  // Requests in flight from `peer`.
  std::size_t in_flight(PeerKey peer) const;
  // True when `peer`'s bitfield or a HAVE says it has chunk `index`.
  bool has(PeerKey peer, std::uint32_t index) const;
  // How many chunks `peer` has that are not verified here: whether it is
  // of any use (in flight elsewhere or not).
  std::uint32_t useful(PeerKey peer) const;

 private:
  enum class State : std::uint8_t { kNeeded, kInFlight, kVerified };
  struct PeerInfo {
    Bitfield has;
    std::unordered_set<std::uint32_t> requested;  // in flight from this peer
    std::unordered_set<std::uint32_t> late;       // of those, the ones marked late
    std::uint32_t useful = 0;                     // chunks in `has` not verified here
  };
  // `index` has just become verified: it is of no more use from anyone.
  void Unuseful(std::uint32_t index);
  bool Failed(PeerKey peer, std::uint32_t index) const;

  // The pick order: fewer holders first, then the seeded random rank.
  bool Before(std::uint32_t a, std::uint32_t b) const;
  void Request(std::uint32_t index, PeerKey peer, PeerInfo& info);
  void Release(std::uint32_t index, PeerKey peer);
  void SetOpen(std::uint32_t index, bool open);

  std::uint32_t count_;
  int endgame_duplicates_;
  std::vector<State> state_;
  std::vector<std::uint32_t> availability_;
  std::vector<std::uint32_t> rank_;  // a seeded permutation: the tie-break
  std::vector<std::uint8_t> requesters_;  // peers a chunk is in flight from
  std::vector<std::uint8_t> late_;        // of those, the ones whose request is late
  // Bit i (as a Bitfield's bytes) set while chunk i is neither verified nor
  // held (Hold): Next ANDs it with a peer's bitfield a byte at a time, so
  // its scan skips what we have, which is most of the file for most of a
  // download.
  Bytes open_;
  FlatMap<PeerKey, PeerInfo> peers_;
  // Chunks each peer failed to deliver; outlives a disconnect.
  std::unordered_map<PeerKey, std::unordered_set<std::uint32_t>> failed_;
  std::uint32_t verified_count_ = 0;
  std::uint32_t needed_count_;
};

}  // namespace lanswarm::peer
