// Whom this node sends to next: the uploader chooses (a GRANT), instead of
// serving every getter that asks at once.
//
// Why: a holder that sends on every connection at once splits its upload N
// ways, so each chunk reaches anyone only after N chunk times, nobody can
// forward anything before that, and a swarm's makespan grows with N
// (doc/simulation.md). Refusing requests past a few slots does not help
// either (getters keep asking and are refused). With grants a node sends to
// at most `slots` connections at once, each at a share of its link that
// does not shrink with N; a getter asks only a holder that granted it, one
// chunk per grant, chosen when the grant arrives (so nothing waits in a
// queue while it could come from elsewhere); interested connections take
// turns.
//
// A turn: a connection holding a slot is granted up to turn_chunks chunks,
// `depth` at a time, the next grant as soon as one of its chunks has left
// (the kernel took its last byte): a connection keeps its slot for a run
// of chunks instead of one, so the line does not turn over, and a fresh
// grant's round trip, at every chunk. The daemon grants one at a time
// (depth 1): its socket buffer already holds the chunk when the kernel has
// taken it, so the next request arrives while that chunk still drains,
// and a second chunk queued behind it only delays what a tree child
// forwards (measured: N = 16 at 1.22 x T_min with depth 1, 1.25-1.27 with
// 2, 1.35-1.37 with 3 or 4; the simulator models the socket buffer to run
// the same depth). The turn ends, and its slot goes to the next in line,
// once its chunks are granted and have left (a
// slot is one flow: ending a turn with a chunk still on its way let flows
// pile up without bound); also when the getter passes, loses interest or
// lets a grant lapse. While a favoured connection waits, every other
// turn is cut short (granted no more), so the first slot to free is its.
// A connection whose turn ended waits at the back of the line; when nobody
// waits, that is a new turn at once.
//
// The contract per connection: the getter says whether it wants anything
// this node has (SetInterested); each grant is used by one REQUEST
// (OnRequest), which then counts until the chunk has left (OnSent); a
// request the holder refuses (REJECT) leaves the grant in place for another
// request; grants unused after grant_timeout, returned (the getter passes:
// SetInterested with pass), or on a closed connection, end the turn.
//
// Pure: connections are the caller's keys, time an argument.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <set>
#include <vector>

#include "common/clock.h"
#include "common/flat_map.h"

namespace lanswarm::peer {

struct UploadOptions {
  // Connections sent to at once. Two flows at half the link each: a tree
  // node's two children, or two getters in turn.
  std::uint32_t slots = 2;
  // Chunks per turn before the slot goes to the next that waits.
  std::uint32_t turn_chunks = 8;
  // Grants and requests a connection in its turn holds at once (1 or more).
  std::uint32_t depth = 1;
  Clock::Duration grant_timeout = std::chrono::seconds(2);
};

class UploadScheduler {
 public:
  using ConnKey = std::uint64_t;

  explicit UploadScheduler(UploadOptions options = {}) : options_(options) {}

  // The getter on `conn` wants something we have (or no longer does). With
  // `pass`, it returns its grants (it had nothing to ask for now).
  void SetInterested(ConnKey conn, bool interested, bool pass = false);

  // A favoured connection (the getter is one of ours in a structure) is
  // granted before any other that waits, and while it waits every other
  // turn is cut short. A change moves a waiting connection to the other line.
  void SetFavoured(ConnKey conn, bool favoured);

  // A REQUEST arrived on `conn`. True when a grant covers it: the request
  // now counts against the turn until OnSent. False when `conn` has no
  // grant: the caller serves it outside the slots (a peer that does not
  // take grants) or refuses it.
  bool OnRequest(ConnKey conn);
  // The holder refused the granted request (REJECT missing or elsewhere):
  // the grant stands again, for another request, from `now`.
  void OnRefused(ConnKey conn, Clock::TimePoint now);
  // The granted chunk on `conn` has left, or was abandoned (CANCEL, a read
  // error).
  void OnSent(ConnKey conn);
  // The connection closed: its grants, turn and place in line go.
  void Forget(ConnKey conn);

  // The connections to send one GRANT each now, in order (a key twice for
  // two grants); each is recorded as granted at `now`. Also takes back
  // grants older than grant_timeout. Call after any of the events above and
  // now and then (a timer: within grant_timeout of a grant, for it to lapse
  // on time).
  std::vector<ConnKey> Grants(Clock::TimePoint now);
  const UploadOptions& options() const { return options_; }

  std::uint32_t busy() const { return turns_; }  // slots held by turns
  // How long some turn was running, up to the last Grants(now): what the
  // bytes served are divided by for the uplink's rate (peer/upload_capacity).
  Clock::Duration busy_time() const { return busy_time_; }
  std::uint32_t slots() const { return options_.slots; }
  std::size_t waiting() const { return line_.size() + favoured_line_.size(); }

 private:
  struct ConnState {
    bool interested = false;
    bool favoured = false;
    bool in_line = false;
    bool turn = false;                     // holds a slot
    std::uint32_t turn_left = 0;           // grants the turn may still give
    std::vector<Clock::TimePoint> granted;  // unused grants, oldest first (a turn's few)
    std::uint32_t sending = 0;             // requests granted and not yet sent
  };
  void Enqueue(ConnKey conn, ConnState& s);
  // Ends the turn when nothing more is to be granted in it and nothing of it
  // is on its way, and frees the slot.
  void MaybeEndTurn(ConnKey conn, ConnState& s);
  void EndTurn(ConnKey conn, ConnState& s);

  UploadOptions options_;
  FlatMap<ConnKey, ConnState> conns_;
  std::deque<ConnKey> line_;  // interested, no turn; may hold stale keys (checked on use)
  std::deque<ConnKey> favoured_line_;  // the same for favoured connections
  std::vector<ConnKey> granted_;  // holding unused grants (or stale: checked on use)
  std::set<ConnKey> active_;      // in a turn, by key: slots at most
  std::uint32_t turns_ = 0;
  Clock::Duration busy_time_{};
  Clock::TimePoint last_grants_{};
  bool was_busy_ = false;  // turns_ > 0 at the last Grants
};

}  // namespace lanswarm::peer
