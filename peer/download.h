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
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <vector>

#include "common/bitfield.h"
#include "common/clock.h"
#include "common/rate_window.h"
#include "peer/chunk_picker.h"

namespace lanswarm::peer {

struct DownloadOptions {
  std::uint64_t seed = 0;            // the picker's tie-break
  std::uint32_t pipeline = 4;        // requests in flight per peer
  int endgame_duplicates = 2;
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
struct DownloadStats {
  std::uint64_t checksum_failures = 0;
  std::uint64_t rejects = 0;
  std::uint64_t timeouts = 0;     // peers dropped because a request ran past its timeout
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

  // A peer connected; it is asked for nothing before its bitfield.
  void AddPeer(PeerKey peer);
  void OnBitfield(PeerKey peer, const Bitfield& has);
  void OnHave(PeerKey peer, std::uint32_t index);
  // Disconnected (or dropped by us): its requests go back to the picker.
  void OnPeerGone(PeerKey peer);

  // Requests to send to `peer` now, filling its pipeline; rarest first.
  std::vector<std::uint32_t> Next(PeerKey peer, Clock::TimePoint now);

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

  // Releases chunks whose retry wait is over, and returns the peers whose
  // head request is past RequestTimeout: the caller drops them (and then
  // calls OnPeerGone).
  std::vector<PeerKey> Tick(Clock::TimePoint now);

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
  bool connected(PeerKey peer) const { return peers_.count(peer) != 0; }
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
  };
  struct PeerState {
    bool ready = false;             // bitfield seen
    std::deque<Sent> queue;         // its requests in flight, in the order sent
    Clock::TimePoint last_delivery{};
    Clock::Duration chunk_time{0};  // smoothed time per chunk at the head of its queue; 0: unknown
    bool squeezed = false;          // its waiting requests were moved: one at a time until it delivers
    RateWindow delivered{std::chrono::seconds(2)};  // chunks it delivered, for its pipeline
    std::uint64_t delivered_count = 0;
    bool rate_started = false;
  };

  // Requests to keep in flight with a peer: what it delivers in about
  // kQueueTime, plus one, between 2 and options_.pipeline (1 while squeezed).
  std::uint32_t PipelineOf(const PeerState& s) const;
  // When the peer could start on the chunk at the head of its queue.
  // REQUIRES: !s.queue.empty()
  static Clock::TimePoint HeadSince(const PeerState& s);
  // Removes `index` from the peer's queue, if there.
  void Forget(PeerKey peer, std::uint32_t index);

  void Fail(PeerKey peer, std::uint32_t index, Clock::TimePoint now);

  ChunkPicker picker_;
  Clock::Duration timeout_;
  DownloadOptions options_;
  std::map<PeerKey, PeerState> peers_;  // connected peers
  std::set<PeerKey> banned_;
  std::vector<std::uint32_t> failures_;          // per chunk
  std::multimap<Clock::TimePoint, std::uint32_t> retry_at_;  // held chunks, by release time
  DownloadStats stats_;
};

}  // namespace lanswarm::peer
