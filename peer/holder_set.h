// The holders one download knows of, and the policy for using them: whom
// to connect to next, how long a holder that failed waits before it is
// tried again, when to ask the coordinator for holders again, and, when
// the download gives up, why.
//
// Pure: the coordinator's answers and each connection's outcome come in as
// events, time as arguments, and the shuffle that spreads a swarm's getters
// over its holders from a seed, so a table test replays any sequence. The
// caller (peer/downloader) does the connecting and the asking.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/flat_map.h"
#include "common/peer_id.h"
#include "common/proto/messages.h"
#include "common/status.h"
#include "peer/chunk_picker.h"

namespace lanswarm::peer {

class HolderSet {
 public:
  // A holder that failed waits ExponentialWait(kRetryBase, kRetryCap,
  // failures in a row): 2 s after the first, doubling up to 30 s. Only a
  // good chunk from it ends the row: a holder that connects, claims every
  // chunk and sends nothing waits longer at each reconnect.
  static constexpr Clock::Duration kRetryBase = std::chrono::seconds(1);
  static constexpr Clock::Duration kRetryCap = std::chrono::seconds(30);
  // How often to ask the coordinator while fewer than max_peers holders are
  // active: 100 ms after the first answer, doubling up to every second.
  // Getters that start together report themselves at once and must find
  // each other within the first chunk's transfer time for their links to
  // carry the swarm. Every 5 s once max_peers are active.
  static constexpr Clock::Duration kQueryFirst = std::chrono::milliseconds(100);
  static constexpr Clock::Duration kQueryOften = std::chrono::seconds(1);
  static constexpr Clock::Duration kQueryFull = std::chrono::seconds(5);
  // A query unanswered this long counts as lost (a coordinator that keeps
  // the connection but never answers), and the next one may go.
  static constexpr Clock::Duration kQueryDeadline = std::chrono::seconds(10);

  struct Holder {
    PeerId id{};
    proto::Endpoint endpoint;
    proto::FileState state = proto::FileState::kWhole;  // as the coordinator last said
    bool connecting = false;
    bool connected = false;
    int failures = 0;  // connections lost in a row, since its last good chunk
    bool preferred = false;  // our parent in a tree, as the coordinator last said: connected first
    Clock::TimePoint retry_at{};
    std::string last_error;  // the last problem seen with it; empty when none
  };

  // `self` is never a holder of ours; at most `max_peers` holders are
  // connecting or connected at once; `seed` fixes the shuffle.
  HolderSet(const PeerId& self, std::uint32_t max_peers, std::uint64_t seed);

  // --- The table ------------------------------------------------------

  // Adds or updates each listed holder (address, state), except self and
  // those whose state is kGone. Our tree parents are the holders this
  // answer flags kHolderParent, and no others. A holder keeps its key for the download's
  // lifetime, however often it is listed.
  void OnHolders(const std::vector<proto::Holder>& list);

  // The keys to connect to now, in order: tree parents, whole copies, then those
  // that failed least, in a seeded random order within that (so that with
  // more holders than max_peers each getter picks a different set and
  // every one's upload link is someone's source). Skips holders that are
  // busy, waiting out a failure, or `banned`; never brings the busy count
  // past max_peers, except for our tree parents (max_peers + 2). Call
  // OnConnecting for each key actually connected.
  std::vector<PeerKey> NextToConnect(Clock::TimePoint now, const std::function<bool(const PeerId&)>& banned);

  void OnConnecting(PeerKey key);
  void OnConnected(PeerKey key);
  // A chunk from the holder matched its checksum: it works, so its next
  // failure waits the shortest time again. Connecting, or answering OPEN,
  // proves nothing (a staller does both).
  void OnGoodChunk(PeerKey key);
  // The connection (or the attempt) ended: the holder waits before it is
  // tried again. A non-OK `why` becomes its last problem.
  void OnClosed(PeerKey key, const Status& why, Clock::TimePoint now);
  // Records `why` as the holder's last problem (a REJECT, a ban...).
  void NoteProblem(PeerKey key, std::string why);

  const Holder* Find(PeerKey key) const;
  std::size_t size() const { return holders_.size(); }

  // --- Asking the coordinator --------------------------------------------

  // Whether to send a query now. Also ends a query that has gone
  // unanswered for kQueryDeadline, recording that as the coordinator's
  // problem. The first query is due at once.
  bool QueryDue(Clock::TimePoint now);
  void OnQuerySent(Clock::TimePoint now);
  // The answer to the last query (OK, or why there is none); `active_peers`
  // is how many holders are useful now, which sets the next query's time.
  // The holders of an OK answer go to OnHolders.
  void OnQueryAnswered(const Status& answer, std::size_t active_peers, Clock::TimePoint now);
  // Why the last query got no answer; empty once one did.
  const std::string& query_error() const { return query_error_; }

  // Why no holder could be used, for the download's final error: the
  // coordinator's problem, none known, or the last problem any holder had.
  std::string GiveUpReason() const;

 private:
  PeerId self_;
  std::uint32_t max_peers_;
  std::mt19937_64 rng_;

  FlatMap<PeerKey, Holder> holders_;  // ordered: the shuffle and GiveUpReason depend on it
  std::vector<PeerKey> parents_;       // the preferred ones (two at most)
  std::map<PeerId, PeerKey> keys_;
  PeerKey next_key_ = 1;

  bool query_pending_ = false;
  int queries_ = 0;  // sent
  Clock::TimePoint query_sent_{}, next_query_{};
  std::string query_error_;
};

}  // namespace lanswarm::peer
