// Whom this node sends to next: the uploader chooses (a GRANT), instead of
// serving every getter that asks at once.
//
// Why: a holder that sends on every connection at once splits its upload N
// ways, so each chunk reaches anyone only after N chunk times, nobody can
// forward anything before that, and a swarm's makespan grows with N
// (doc/simulation.md). Refusing requests past a few slots does not help
// either (getters keep asking and are refused). With grants a node sends at
// most `slots` chunks at once, each at a share of its link that does not
// shrink with N; a getter asks only a holder that granted it, one chunk per
// grant, chosen when the grant arrives (so nothing waits in a queue while it
// could come from elsewhere); interested connections take turns.
//
// The contract per connection: the getter says whether it wants anything
// this node has (SetInterested); the scheduler grants an interested
// connection one chunk when a slot is free, in turn (least recently granted
// first; a connection gets a second slot, kPerConnection at most, only
// after every other that waits has had one, so a lone getter keeps the
// link busy across the grants' round trips); each grant is used by one
// REQUEST (OnRequest), which then holds the slot until the chunk has left
// (OnSent); a request the holder refuses (REJECT) leaves the grant in place
// for another request; grants unused after grant_timeout, returned (the
// getter passes: SetInterested with pass), or on a closed connection, free
// their slots.
//
// Pure: connections are the caller's keys, time an argument.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <set>
#include <unordered_map>
#include <vector>

#include "common/clock.h"

namespace lanswarm::peer {

struct UploadOptions {
  // Chunks on their way (or granted) at once over all connections. Two keep
  // the link busy across a grant's round trip: while one slot waits for its
  // request, the other's flow takes the whole link.
  std::uint32_t slots = 2;
  Clock::Duration grant_timeout = std::chrono::seconds(2);
};

class UploadScheduler {
 public:
  using ConnKey = std::uint64_t;

  explicit UploadScheduler(UploadOptions options = {}) : options_(options) {}

  // The getter on `conn` wants something we have (or no longer does). With
  // `pass`, it keeps its interest but returns its grant (it had nothing to
  // ask for now): it goes to the back of the line.
  void SetInterested(ConnKey conn, bool interested, bool pass = false);

  // A favoured connection (the getter is one of ours in a structure) is
  // granted before any other that waits.
  void SetFavoured(ConnKey conn, bool favoured) { conns_[conn].favoured = favoured; }

  // A REQUEST arrived on `conn`. True when a grant covers it: the request
  // now holds the grant's slot until OnSent. False when `conn` has no
  // grant: the caller serves it outside the slots (a peer that does not
  // take grants) or refuses it.
  bool OnRequest(ConnKey conn);
  // The holder refused the granted request (REJECT missing or elsewhere):
  // the grant stands again, for another request, from `now`.
  void OnRefused(ConnKey conn, Clock::TimePoint now);
  // The granted chunk on `conn` has left, or was abandoned (CANCEL, a read
  // error): its slot is free.
  void OnSent(ConnKey conn);
  // The connection closed: its grant, slot and place in line go.
  void Forget(ConnKey conn);

  // The connections to send one GRANT each now, in order; each is recorded
  // as granted at `now`. Also takes back grants older than grant_timeout.
  // Call after any of the events above and now and then (a timer: within
  // grant_timeout of a grant, for it to lapse on time).
  std::vector<ConnKey> Grants(Clock::TimePoint now);
  const UploadOptions& options() const { return options_; }

  static constexpr std::size_t kPerConnection = 2;

  std::uint32_t busy() const { return busy_; }
  std::uint32_t slots() const { return options_.slots; }
  std::size_t waiting() const { return line_.size() + favoured_line_.size(); }

 private:
  struct ConnState {
    bool interested = false;
    bool favoured = false;
    bool in_line = false;
    std::deque<Clock::TimePoint> granted;  // unused grants, oldest first
    std::uint32_t sending = 0;             // requests granted and not yet sent
  };
  void Enqueue(ConnKey conn, ConnState& s);
  void ReturnGrants(ConnKey conn, ConnState& s);

  UploadOptions options_;
  std::unordered_map<ConnKey, ConnState> conns_;
  std::deque<ConnKey> line_;  // interested, no slot; may hold stale keys (checked on use)
  std::deque<ConnKey> favoured_line_;  // the same for favoured connections
  std::vector<ConnKey> granted_;  // holding unused grants (or stale: checked on use)
  std::set<ConnKey> active_;  // holding a slot (granted or sending), by key: slots at most
  std::uint32_t busy_ = 0;        // slots granted or sending
};

}  // namespace lanswarm::peer
