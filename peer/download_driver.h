// The decisions of one download between its events: when to ask the
// coordinator, whom to connect, what to request from whom after each event,
// whom to drop or ban and why, when to give up. It owns the download's pure
// state (peer/download) and its holders (peer/holder_set) and acts through
// DriverActions, so the daemon's Downloader (real sessions, a real disk)
// and the swarm simulator (tests/sim, modelled links) run the very same
// policy. No sockets, no files; time comes in as arguments.
//
// Contract with the caller: report every event (below) as it happens, call
// Tick every kTick, and carry out each action. An action may re-enter the
// driver only through later events, never from inside the call.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/bitfield.h"
#include "common/clock.h"
#include "common/file_id.h"
#include "common/flat_map.h"
#include "common/proto/messages.h"
#include "common/status.h"
#include "peer/ban_list.h"
#include "peer/download.h"
#include "peer/holder_set.h"

namespace lanswarm::peer {

// What the driver asks of the world. Each call is an order; none fails back
// into the driver (failures come back as events: OnClosed, OnReject...).
class DriverActions {
 public:
  virtual ~DriverActions() = default;
  // Send a QUERY for the file; the answer comes back through OnHolders.
  virtual void Query() = 0;
  // Open a connection to the holder; OnConnected or OnClosed follows.
  virtual void Connect(PeerKey key, const HolderSet::Holder& holder) = 0;
  virtual void Request(PeerKey key, const std::vector<std::uint32_t>& chunks) = 0;
  virtual void CancelRequest(PeerKey key, std::uint32_t index) = 0;
  // Tell a gated holder whether we want anything it has (proto::Interest's
  // flags: kInterested, kPass to give back its grants, kParent when it is
  // our parent in a tree).
  virtual void Interest(PeerKey key, std::uint8_t flags) = 0;
  // Close the connection to `key` (dropped, banned); OnClosed follows.
  virtual void Close(PeerKey key, const Status& why) = 0;
  // The chunk is verified: record it and announce it (HAVE, report).
  virtual void Verified(std::uint32_t index) = 0;
  // The download is over: complete (OK) or given up.
  virtual void Finished(const Status& why) = 0;
};

struct DriverOptions {
  FileId file;
  std::string file_name;      // for log lines
  std::uint32_t chunk_count = 0;
  std::uint64_t chunk_size = 0;
  std::uint32_t max_peers = 32;   // holders downloaded from at once
  std::uint32_t max_incoming = 2; // DownloadOptions::max_incoming
  std::uint64_t seed = 0;         // the picker's tie-break and the holder shuffle
  std::chrono::seconds holder_timeout{60};  // give up after this long without data
  bool log = true;                // warn/info lines through spdlog (the simulator turns them off)
};

class DownloadDriver {
 public:
  static constexpr Clock::Duration kTick = std::chrono::milliseconds(100);

  // `self` is never used as a holder; `bans` (the node's) and `actions`
  // must outlive the driver.
  DownloadDriver(const DriverOptions& options, const PeerId& self, BanList& bans, DriverActions& actions);

  // A chunk held before the start (resume): never requested.
  void MarkVerified(std::uint32_t index) { state_.MarkVerified(index); }
  // Starts: the first query, or Finished at once when nothing is missing.
  void Start(Clock::TimePoint now);

  void Tick(Clock::TimePoint now);
  void OnHolders(const Result<std::vector<proto::Holder>>& holders, Clock::TimePoint now);
  void OnConnected(PeerKey key, Clock::TimePoint now);
  // `gated`: the holder sends only what it grants (OnGrant).
  void OnBitfield(PeerKey key, const Bitfield& has, Clock::TimePoint now, bool gated = false);
  void OnGrant(PeerKey key, Clock::TimePoint now);
  void OnHave(PeerKey key, std::uint32_t index, Clock::TimePoint now);
  // `bytes` of a chunk we need arrived from `key`: the download is not idle
  // (the give-up clock), and the holder is not stalling (kProgressFloor).
  void OnData(PeerKey key, std::uint64_t bytes, Clock::TimePoint now) {
    idle_since_ = now;
    state_.OnProgress(key, bytes);
  }
  // A whole chunk arrived from `key`; `good` says whether it matched.
  void OnChunk(PeerKey key, std::uint32_t index, bool good, Clock::TimePoint now);
  // A chunk from `key` matched, but the copy on disk did not (an endgame
  // twin spoiled it): fetched again, not held against `key`.
  void OnSpoiled(PeerKey key, std::uint32_t index, Clock::TimePoint now);
  void OnReject(PeerKey key, std::uint32_t index, proto::RejectReason why, Clock::TimePoint now);
  // The connection (or the attempt) ended; `was_connected` when it got as
  // far as OnConnected.
  void OnClosed(PeerKey key, const Status& why, bool was_connected, Clock::TimePoint now);

  // Stops: no more actions, not even Finished.
  void Stop() { finished_ = true; }

  bool finished() const { return finished_; }
  bool Wanted(std::uint32_t index) const { return state_.Wanted(index); }
  const Download& state() const { return state_; }
  const HolderSet& holders() const { return holders_; }
  // "starting", "downloading" or "waiting" while it runs.
  const char* phase() const { return phase_; }
  // "peer ADDR", for people.
  std::string HolderName(PeerKey key) const;

 private:
  // What each gated holder was told last: the INTEREST flags, and whether
  // we passed a grant of it (resting: no more interest until Wake).
  struct Gate {
    std::uint8_t sent = 0;
    bool resting = false;
    std::uint8_t parent = 0;  // kParent when it is our tree parent (HolderSet), kept here for SyncInterest
  };
  Gate& GateOf(PeerKey key);  // made on first use
  std::uint8_t ParentFlag(PeerKey key) const;

  void Query(Clock::TimePoint now);
  void ConnectMore(Clock::TimePoint now);
  void PumpAll(Clock::TimePoint now);
  // Asks `key` for what Next gives; a gated holder gets back grants we
  // cannot use, and learns when our interest changes (SyncInterest).
  void Pump(PeerKey key, Clock::TimePoint now);
  void SyncInterest(PeerKey key);
  // A request of ours ended: holders we passed may be of use again.
  void Wake();
  void Drop(PeerKey key, const std::string& why);
  // Counts a strike of `kind` against `key` in the ban list; at its
  // threshold bans the holder for this file and closes it. True when it banned.
  bool Strike(PeerKey key, BanReason kind, Clock::TimePoint now);
  void GoodChunk(PeerKey key);
  void Finish(const Status& why);

  DriverOptions options_;
  BanList& bans_;
  DriverActions& actions_;
  Download state_;
  HolderSet holders_;
  FlatMap<PeerKey, Gate> gates_;
  std::size_t resting_ = 0;  // gates resting
  Clock::TimePoint idle_since_{};
  bool finished_ = false;
  const char* phase_ = "starting";
};

}  // namespace lanswarm::peer
