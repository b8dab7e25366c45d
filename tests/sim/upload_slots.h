// AN EXPERIMENT, not the daemon's rule (swarm_sim --upload-slots; off by
// default): the daemon sends on every connection at once. Results and why
// it is not adopted as it stands are in doc/simulation.md.
//
// How many chunks a node sends at once, and which request waits or is
// refused: at most `slots` chunks are on their way (node-wide, over every
// connection and file); a connection with a chunk to send waits for a slot
// in the order it asked; and at most `max_waiting` requests wait for one in
// all. A request beyond that is refused at once with REJECT(busy), so the
// getter asks another holder instead of waiting out its request timeout.
//
// Why: a holder that sends to every getter at once splits its upload N
// ways. Its first chunk then reaches anyone only after N chunk times, no
// getter can forward anything before that, and each request takes N times
// longer than on a free link: past N ≈ 200 getters at 256 KiB a chunk (50
// at 1 MiB) on 100 Mbit/s, longer than the request timeout, so an honest
// seed is dropped as a staller by everyone (found by tests/sim). With a few
// slots, each chunk leaves at a share of the link that does not shrink with
// N, and the link carries few large flows, as a chain's does.
//
// Pure: connections are the caller's keys; the caller reports when a chunk
// starts and when its last byte has left.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <vector>

namespace lanswarm::sim {

struct UploadPolicy {
  // 0: no limit (every connection sends as soon as it has a request).
  std::uint32_t slots = 2;
  // Requests waiting for a slot, over all connections, before REJECT(busy).
  std::uint32_t max_waiting = 8;
};

class UploadSlots {
 public:
  using ConnKey = std::uint64_t;

  explicit UploadSlots(UploadPolicy policy = {}) : policy_(policy) {}

  // A request arrived on `conn`: true to queue it, false to refuse it busy.
  // An accepted request counts as waiting until Start takes it or Drop
  // drops it.
  bool Admit(ConnKey conn);
  // One of `conn`'s waiting requests will not be sent (CANCEL, REJECT).
  void Drop(ConnKey conn);

  // `conn` has a request at the head of its queue. True when it may send it
  // now (the request stops waiting and takes a slot); false when it must
  // wait: it then joins the line for a slot (once), and a later Done or
  // Forget names it.
  bool TryStart(ConnKey conn);
  // `conn`'s chunk has left (or was abandoned): its slot is free. Returns
  // the line, in order, and empties it: the caller offers each its chance
  // (TryStart) in that order, and those that still find no slot rejoin it
  // in the same order.
  std::vector<ConnKey> Done(ConnKey conn);
  // The connection closed: its slots, waiting requests and place in line
  // go. Returns the line as Done does.
  std::vector<ConnKey> Forget(ConnKey conn);

  std::uint32_t sending() const { return sending_; }
  std::uint32_t waiting() const { return waiting_; }
  bool unlimited() const { return policy_.slots == 0; }

 private:
  std::vector<ConnKey> TakeLine();

  UploadPolicy policy_;
  std::map<ConnKey, std::uint32_t> waiting_of_;  // requests each connection has waiting
  std::map<ConnKey, std::uint32_t> sending_of_;  // chunks each connection has on their way
  std::deque<ConnKey> line_;                     // connections waiting for a slot, in order
  std::uint32_t waiting_ = 0, sending_ = 0;
};

}  // namespace lanswarm::sim
