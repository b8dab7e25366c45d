// One file's download, as pure state: which peers are connected and what
// they hold, which requests are in flight and until when, the retry queue,
// and how many bad chunks each peer sent. Events in (bitfield, have, chunk
// good or bad, reject, disconnect, clock tick), decisions out (what to
// request from whom, whom to cancel, whom to drop). No sockets, no files:
// the glue in peer/downloader does the I/O and asks this what to do.
//
// Peers are keyed by the glue's stable handle for a holder (not a
// connection), so the chunks a peer failed survive reconnects. Whether a
// peer is banned is decided by the daemon's peer/ban_list; this only obeys
// (Ban).
//
// A peer serves our requests in the order we sent them, so each peer's
// requests are kept as a queue: the first is the chunk it is delivering,
// the rest wait behind it. A request's clock starts when the peer can work
// on it: when it was sent, or when the one before it was delivered,
// whichever is later. That clock drives both the timeout (Tick) and the
// move of a slow peer's waiting requests to faster peers (Rebalance).
//
// A newly connected peer is on probation until it delivers a chunk: it is
// asked for one at a time, and when that one is late (kSlowFloor, or
// kSlowFactor times the others' median) the chunk may be asked of another
// peer too (ChunkPicker::MarkLate). So holders that claim every chunk and
// send nothing hold one chunk each, for a second, instead of a pipeline
// each until their timeout; the honest holder among them is found by
// asking many at once.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "common/bitfield.h"
#include "common/clock.h"
#include "common/flat_map.h"
#include "common/rate_window.h"
#include "peer/chunk_picker.h"

namespace lanswarm::peer {

struct DownloadOptions {
  std::uint64_t seed = 0;            // the picker's tie-break
  std::uint32_t pipeline = 4;        // requests in flight per peer
  int endgame_duplicates = 2;
  // Gated holders sending to us at once (this one aside): a grant from one
  // more is passed on, so that its slot goes to someone whose link is free
  // instead of sharing ours.
  std::uint32_t max_incoming = 2;
  // The n-th failure of one chunk holds it back for min(cap, base * 2^(n-1))
  // before it is asked again; another holder is preferred meanwhile.
  Clock::Duration retry_base = std::chrono::milliseconds(100);
  Clock::Duration retry_cap = std::chrono::seconds(5);
};

// How long a peer may take to deliver the chunk at the head of its queue,
// counted from when it could start on it (see above): max(4 s, 4 s per
// MiB), Kraken's rule. Per request, so a deep pipeline never makes the
// last of its requests look late.
Clock::Duration RequestTimeout(std::uint64_t chunk_size);

// The most requests in flight with one peer for a chunk size: about 8 MiB,
// between 2 and 16 requests. Each peer gets fewer when it delivers slowly:
// enough for about kQueueTime of its measured rate (see Download::Next), so
// that a peer whose upload is shared by many getters does not hold a queue
// of our requests for seconds (the last chunks of a swarm would wait there).
std::uint32_t PipelineFor(std::uint64_t chunk_size);
inline constexpr Clock::Duration kQueueTime = std::chrono::milliseconds(500);

// A peer is slow when the chunk at the head of its queue has taken longer
// than kSlowFactor times the median time per chunk of the other peers, and
// at least kSlowFloor (so LAN jitter on fast chunks moves nothing).
inline constexpr int kSlowFactor = 4;
inline constexpr Clock::Duration kSlowFloor = std::chrono::seconds(1);

// A request past RequestTimeout is a stall only if the peer also sent less
// than kProgressFloor bytes per second during that time (counted over every
// chunk it is sending us). A holder whose upload many getters share is slow
// but honest: at 100 Mbit/s shared by 1,000 getters each gets 12.5 kB/s, a
// 256 KiB chunk takes 21 s, and without the floor every getter dropped the
// swarm's one seed as a staller and banned it (tests/sim found it). A
// staller that sends nothing, or a trickle of 1 byte a second, is caught as
// before; one that sends 8 KiB/s costs a getter at most that rate's worth of
// one of its download_peers places.
inline constexpr std::uint64_t kProgressFloor = 8 * 1024;

// How long a connected peer may take to answer OPEN with its BITFIELD: the
// request timeout's floor. The answer is a few bytes from memory, so a peer
// that is this late is a staller holding one of our max_peers places.
// While a gated peer (one that grants) has delivered, peers on probation
// that do not grant hold at most this many of our requests together. A
// gated holder is asked only when it grants, so without the bound every
// chunk that comes free goes to whichever new holder is asked first, and a
// crowd of stalling holders (make test-faults, hostile_swarm) keeps the
// chunks from the seed for their whole timeout, one after another.
inline constexpr std::size_t kProbesBesideGrants = 4;

inline constexpr Clock::Duration kOpenTimeout = std::chrono::seconds(4);

// A peer Tick found stalling: the caller drops it, and it counts toward a
// ban (peer/ban_list).
struct Stall {
  enum class Kind : std::uint8_t {
    kRequest,  // the request at the head of its queue ran past RequestTimeout
    kOpen,     // no BITFIELD within kOpenTimeout of AddPeer
  };
  PeerKey peer;
  Kind kind;
  friend bool operator==(const Stall&, const Stall&) = default;
};
struct DownloadStats {
  std::uint64_t checksum_failures = 0;
  std::uint64_t rejects = 0;
  std::uint64_t timeouts = 0;     // peers dropped for stalling (Tick): a request past its timeout, OPEN unanswered
  std::uint64_t late_probes = 0;  // first requests to a peer on probation that were late: asked elsewhere too
  std::uint64_t retries = 0;      // chunk requests that failed and were put back (incl. lost peers')
  std::uint64_t duplicates = 0;   // chunks that arrived after another copy was verified
  std::uint64_t deferred = 0;     // REJECT elsewhere: a seed sent the chunk to someone else
  std::uint64_t banned_peers = 0;
  std::uint64_t reassigned = 0;   // requests taken from a slow peer for faster ones (Rebalance)
};

class Download {
 public:
  Download(std::uint32_t chunk_count, Clock::Duration request_timeout, const DownloadOptions& options);

  // A chunk already held (resume): never requested.
  void MarkVerified(std::uint32_t index);

  // A peer connected at `now` (its OPEN went out); it is asked for nothing
  // before its bitfield.
  void AddPeer(PeerKey peer, Clock::TimePoint now);
  // `gated`: the peer sends only what it granted (peer/upload_scheduler):
  // it is asked for one chunk per GRANT, and only then.
  void OnBitfield(PeerKey peer, const Bitfield& has, bool gated = false);
  // True when the HAVE may change what we ask this peer for (ChunkPicker::OnPeerHave).
  bool OnHave(PeerKey peer, std::uint32_t index);
  // A gated peer granted one chunk.
  void OnGrant(PeerKey peer);
  // Gives back the gated peer's unused grants (we pass: nothing to ask of
  // it now); returns how many there were.
  std::uint32_t ReturnGrants(PeerKey peer);
  bool gated(PeerKey peer) const;
  // What a call of Next for `peer` can do: nothing (kGone: not connected);
  // nothing but wait for a grant (kWaiting: gated, none left, and seen by
  // Next before, so calling it would change nothing); or anything (kOther).
  enum class Turn : std::uint8_t { kGone, kWaiting, kOther };
  Turn TurnOf(PeerKey peer) const;
  std::uint32_t grants(PeerKey peer) const;
  // Whether the peer has any chunk not verified here.
  bool Interesting(PeerKey peer) const { return picker_.useful(peer) > 0; }
  // Disconnected (or dropped by us): its requests go back to the picker.
  void OnPeerGone(PeerKey peer);
  // `bytes` of chunk data arrived from `peer` (see kProgressFloor).
  void OnProgress(PeerKey peer, std::uint64_t bytes);

  // Requests to send to `peer` now, filling its pipeline; rarest first.
  std::vector<std::uint32_t> Next(PeerKey peer, Clock::TimePoint now);
  // The connected peers in the order to call Next for when several could
  // take the same chunks: those that have delivered on this connection
  // first, then those on probation, the fewest late probes in this download
  // first; by key within that. So a contested chunk (late, or in the
  // endgame) goes to a holder that has proven itself before one that has
  // not, and to a fresh holder before one that stalled already.
  std::vector<PeerKey> PumpOrder() const;

  struct Verdict {
    bool verified = false;        // the chunk is now verified: write it, announce it
    std::vector<PeerKey> cancel;  // also asked of these: send CANCEL
  };
  // A whole chunk arrived from `peer`; `good` says whether its digest matched.
  Verdict OnChunk(PeerKey peer, std::uint32_t index, bool good, Clock::TimePoint now);
  // The peer answered REJECT for a request.
  void OnReject(PeerKey peer, std::uint32_t index, Clock::TimePoint now);
  // The peer answered REJECT elsewhere: it sent the chunk to another peer
  // already. Not a failure: the chunk is asked of other holders first; if
  // none has it yet, it waits kDeferHold before `peer` is asked again.
  void OnDeferred(PeerKey peer, std::uint32_t index, Clock::TimePoint now);
  static constexpr Clock::Duration kDeferHold = std::chrono::milliseconds(100);
  // The chunk must be fetched again through no proven fault of `peer` (its
  // bytes were right, but another copy spoiled them on disk).
  void Requeue(PeerKey peer, std::uint32_t index, Clock::TimePoint now);

  // Releases chunks whose retry wait is over, marks the late requests of
  // peers on probation, and returns the peers that stall (see Stall), each
  // once per connection: the caller drops them (and then calls OnPeerGone).
  std::vector<Stall> Tick(Clock::TimePoint now);

  // Moves waiting requests off slow peers (see kSlowFactor): a peer whose
  // head chunk is late keeps it, and its other requests that a faster peer
  // with room in its pipeline also has go back to the picker (they count as
  // failed by it, so they go elsewhere); it is then asked for nothing more
  // until it delivers. Returns, per slow peer, the chunks to CANCEL there.
  struct Moved {
    PeerKey peer;
    std::vector<std::uint32_t> chunks;
  };
  std::vector<Moved> Rebalance(Clock::TimePoint now);

  // The ban list banned `peer` for this file: it is asked for nothing (the
  // caller drops it). AddPeer lifts it: the caller reconnects a peer only
  // once its ban has ended.
  void Ban(PeerKey peer);

  // True when bytes of `index` arriving now are still of use.
  bool Wanted(std::uint32_t index) const { return !picker_.verified(index); }
  bool complete() const { return picker_.complete(); }
  bool banned(PeerKey peer) const { return banned_.count(peer) != 0; }
  std::uint32_t verified_count() const { return picker_.verified_count(); }
  std::uint32_t chunk_count() const { return picker_.chunk_count(); }
  std::size_t in_flight(PeerKey peer) const { return picker_.in_flight(peer); }
  // Peers that have sent their bitfield and are not banned.
  std::size_t active_peers() const;
  std::size_t waiting_retries() const { return retry_at_.size(); }
  const DownloadStats& stats() const { return stats_; }
  const ChunkPicker& picker() const { return picker_; }

 private:
  struct Sent {
    std::uint32_t index;
    Clock::TimePoint at;
    bool late = false;  // marked late in the picker (probation)
  };
  struct PeerState {
    Clock::TimePoint added{};
    bool ready = false;             // bitfield seen
    bool gated = false;             // asked only within its grants
    std::uint32_t grants = 0;       // granted and not yet used
    bool stalled = false;           // reported by Tick; the caller is dropping it
    std::vector<Sent> queue;        // its requests in flight, in the order sent (a pipeline: 16 at most)
    Clock::TimePoint last_delivery{};
    Clock::Duration chunk_time{0};  // smoothed time per chunk at the head of its queue; 0: unknown
    bool squeezed = false;          // its waiting requests were moved: one at a time until it delivers
    RateWindow delivered{std::chrono::seconds(2)};  // chunks it delivered, for its pipeline
    std::uint64_t delivered_count = 0;
    bool rate_started = false;
    // The stall check's window: since when, and the bytes it has brought.
    Clock::TimePoint window_start{};
    std::uint64_t window_bytes = 0;
  };

  // Requests to keep in flight with a peer: what it delivers in about
  // kQueueTime, plus one, between 2 and options_.pipeline (1 on probation,
  // before its first delivery, and 1 while squeezed).
  std::uint32_t PipelineOf(const PeerState& s) const;
  // The median time per chunk of the peers other than `except` that have
  // delivered; nullopt when none has.
  std::optional<Clock::Duration> MedianChunkTime(PeerKey except) const;
  // Marks late in the picker the requests of peers on probation older than
  // max(kSlowFloor, kSlowFactor * the others' median).
  void MarkLateProbes(Clock::TimePoint now);
  // When the peer could start on the chunk at the head of its queue.
  // REQUIRES: !s.queue.empty()
  static Clock::TimePoint HeadSince(const PeerState& s);
  // Removes `index` from the peer's queue, if there.
  void Forget(PeerKey peer, std::uint32_t index);

  void Fail(PeerKey peer, std::uint32_t index, Clock::TimePoint now);

  ChunkPicker picker_;
  Clock::Duration timeout_;
  DownloadOptions options_;
  FlatMap<PeerKey, PeerState> peers_;  // connected peers
  FlatSet<PeerKey> banned_;
  FlatMap<PeerKey, std::uint32_t> late_probes_;  // per peer, across its connections
  std::vector<std::uint32_t> failures_;          // per chunk
  std::multimap<Clock::TimePoint, std::uint32_t> retry_at_;  // held chunks, by release time
  DownloadStats stats_;
};

}  // namespace lanswarm::peer
