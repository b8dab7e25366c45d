// One simulated swarm: a coordinator (the real coordinator/availability_table
// behind a fake clock), seeds and getters on a FlowNetwork, and between
// them the messages of doc/protocol.md as timed events. Every getter runs
// the daemon's own peer/download_driver (with peer/download, holder_set,
// chunk_picker and ban_list under it); every holder serves as
// peer/serve_session does: requests of a connection in order, one chunk at
// a time, REJECT(missing) for a chunk it lacks, a whole copy shared from the
// start sending each chunk once before any twice (peer/spread_tracker), HAVE
// to every connection that has the file open, CANCEL dropping a request not
// yet started. What this leaves out is in doc/simulation.md.
//
// Deterministic: one seed fixes every random choice; events at the same
// instant run in the order they were scheduled.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/bitfield.h"
#include "common/clock.h"
#include "coordinator/availability_table.h"
#include "peer/ban_list.h"
#include "peer/download_driver.h"
#include "peer/spread_tracker.h"
#include "peer/upload_scheduler.h"
#include "tests/sim/event_queue.h"
#include "tests/sim/flow_network.h"

namespace lanswarm::sim {

struct HostSpec {
  double up = 0, down = 0;  // bytes per second
  Nanos start = 0;          // a getter's release; seeds are there from 0
  Nanos kill = -1;          // killed (kill -9) at this time; -1: never
};

struct WorldConfig {
  std::uint64_t file_size = 0;
  std::uint64_t chunk_size = 1 << 20;
  std::vector<HostSpec> seeds, getters;
  Nanos one_way = 1'000'000;          // one-way latency of every message (the testbed's 1 ms)
  std::uint32_t download_peers = 32;  // the daemon's config key
  // Holders grant (peer/upload_scheduler) instead of serving every request
  // at once; grant_slots is UploadOptions::slots.
  bool grants = false;
  std::uint32_t grant_slots = 2;
  std::uint32_t turn_chunks = peer::UploadOptions{}.turn_chunks;
  std::uint32_t max_incoming = 2;
  std::uint32_t turn_depth = peer::UploadOptions{}.depth;
  // The bytes of a chunk a holder's kernel takes before they leave (its
  // socket buffer): the slot is free when the rest has left.
  std::uint32_t socket_buffer = 128 * 1024;
  std::chrono::seconds report_interval{10};
  std::uint32_t expiry_multiple = 3;
  bool seed_leaves_after_one_copy = false;
  Nanos limit = 3600'000'000'000;     // give up the run at this simulated time
  double goodput = 1;                 // the share of a link's rate the capacities above are (for bounds)
  std::uint64_t seed = 1;
};

struct GetterOutcome {
  Nanos start = 0;
  Nanos done = -1;   // -1: never completed (killed, or the run hit its limit)
  bool killed = false;
  std::string error; // the driver's, when it gave up
};

struct WorldResult {
  std::vector<GetterOutcome> getters;
  double seed_upload_bytes = 0;
  std::uint64_t events = 0;
  // REJECTs sent, by reason (proto::RejectReason's value), and chunks that
  // arrived when their getter had them already.
  std::array<std::uint64_t, 8> rejects{};
  std::uint64_t duplicates = 0;
  Nanos end = 0;
  bool hit_limit = false;
};

class SwarmWorld {
 public:
  explicit SwarmWorld(WorldConfig config);
  ~SwarmWorld();
  WorldResult Run();

 private:
  struct Node;
  struct Conn;
  class Actions;
  enum class Kind : std::uint8_t;
  struct Event {
    Nanos at;
    std::uint64_t seq;
    Kind kind;
    std::uint32_t a, b, c;
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  void Schedule(Nanos delay, Kind kind, std::uint32_t a, std::uint32_t b = 0, std::uint32_t c = 0);
  void Dispatch(const Event& e);
  // The policy's clock starts far from zero, as the daemon's does: code may
  // take a zero time point as "never".
  Clock::TimePoint Time() const { return Clock::TimePoint(std::chrono::hours(1000) + std::chrono::nanoseconds(now_)); }
  void SyncTable();  // the coordinator's clock to now
  void SetFlowConn(FlowId flow, std::uint32_t conn);

  // Getter side.
  void StartGetter(std::uint32_t node);
  void Tick(std::uint32_t node);
  void Connect(std::uint32_t node, peer::PeerKey key, const PeerId& holder);
  void Request(std::uint32_t node, peer::PeerKey key, const std::vector<std::uint32_t>& chunks);
  void CancelRequest(std::uint32_t node, peer::PeerKey key, std::uint32_t index);
  void Interest(std::uint32_t node, peer::PeerKey key, std::uint8_t flags);
  void CloseFromGetter(std::uint32_t node, peer::PeerKey key, const Status& why);
  void Verified(std::uint32_t node, std::uint32_t index);
  void Finished(std::uint32_t node, const Status& why);
  // The chunk's last byte reached the getter; `rest` of its bytes were not reported by a tick yet.
  void OnChunkArrived(std::uint32_t conn, std::uint32_t index, std::uint32_t rest);

  // Holder side.
  void OnOpen(std::uint32_t conn);
  void Pump(std::uint32_t conn);
  void OnFlowDone(FlowId flow);
  void OnTaken(std::uint32_t conn);
  void Refused(std::uint32_t conn);
  void ForgetServing(Conn& c);
  // Every node's UploadCapacity takes a sample (as the daemon's once a
  // second); a node whose figure grew reports at once.
  void SampleUploads();
  // Sends the GRANTs the holder's scheduler gives now.
  void RunGrants(std::uint32_t holder);

  // Both.
  void Kill(std::uint32_t node);
  void CloseConn(std::uint32_t conn, bool tell_getter, bool tell_holder);
  void Report(std::uint32_t node);
  void Query(std::uint32_t node);
  bool AllSettled() const;

  WorldConfig config_;
  FlowNetwork net_;
  FakeClock table_clock_;
  Nanos table_at_ = 0;
  std::unique_ptr<coordinator::AvailabilityTable> table_;
  FileId file_{};
  std::uint32_t chunk_count_ = 0;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<Conn> conns_;
  std::vector<std::uint32_t> flow_conn_;  // by FlowId (FlowNetwork reuses ids): the conn it carries
  std::vector<Bitfield> bitfields_;                      // BITFIELDs in flight, by event payload
  std::vector<std::vector<proto::Holder>> answers_;      // HOLDERS in flight
  EventQueue<Event> events_;
  std::uint64_t seq_ = 0, dispatched_ = 0, settles_ = 0;
  Nanos now_ = 0;
  std::mt19937_64 rng_;
  std::uint32_t open_getters_ = 0;  // neither done nor dead
  WorldResult counts_;              // the counters of the result
};

}  // namespace lanswarm::sim
