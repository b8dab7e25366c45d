// The private parts of SwarmWorld that its two source files share: the
// event kinds, a connection, a node, the driver's actions, and the ids and
// endpoints the simulated peers have. Included by tests/sim/swarm_world.cc
// and tests/sim/swarm_world_holder.cc only.
#pragma once

#include <cstring>

#include "common/flat_map.h"
#include "peer/upload_capacity.h"
#include "tests/sim/swarm_world.h"

namespace lanswarm::sim {

inline constexpr std::uint16_t kPort = 7000;

inline PeerId IdOf(std::uint32_t node) {
  PeerId id{};
  std::memcpy(id.data(), &node, sizeof node);
  id[15] = 0x5a;  // never all zero
  return id;
}
inline std::uint32_t NodeOf(const PeerId& id) {
  std::uint32_t node;
  std::memcpy(&node, id.data(), sizeof node);
  return node;
}
inline proto::Endpoint EndpointOf(std::uint32_t node) {
  proto::Endpoint e;
  e.family = 4;
  e.address = {10, static_cast<std::uint8_t>(1 + (node >> 16)), static_cast<std::uint8_t>(node >> 8),
               static_cast<std::uint8_t>(node)};
  e.port = kPort;
  return e;
}

enum class SwarmWorld::Kind : std::uint8_t {
  kStart,          // a = node: a getter is released
  kKill,           // a = node
  kTick,           // a = node: its driver's periodic tick
  kReport,         // a = node: its periodic REPORT is due
  kReportArrives,  // a = node, b = state: the coordinator files it
  kQueryArrives,   // a = node
  kHolders,        // a = node, b = answers_ index
  kConnected,      // a = conn: handshake done, OPEN goes out
  kRefused,        // a = conn: the holder is not there
  kOpen,           // a = conn: OPEN at the holder
  kBitfield,       // a = conn, b = bitfields_ index
  kHaves,          // a = holder, b = index, c = its `opened` when sent: HAVE on each conn open then
  kRequest,        // a = conn, b = index
  kCancel,         // a = conn, b = index
  kReject,         // a = conn, b = index, c = reason
  kChunk,          // a = conn, b = index: its last byte arrived
  kTaken,          // a = conn: the holder's kernel took all of a chunk that fits its socket buffer
  kClosedAtGetter, // a = conn
  kClosedAtHolder, // a = conn
  kInterest,       // a = conn, b = proto::Interest's flags: at the holder
  kGrant,          // a = conn: at the getter
  kGrantCheck,     // a = holder: unused grants may have lapsed
  kSettleAll,
};

struct SwarmWorld::Conn {
  std::uint32_t getter = 0, holder = 0;
  peer::PeerKey key = 0;
  bool connected = false, closed = false, open_at_holder = false;
  std::uint32_t open_order = 0;  // the holder's `opened` count when it got this conn's OPEN
  // The getter's driver, which outlives the connection: a HAVE, the most
  // frequent event, reaches it from here without touching the Node.
  peer::DownloadDriver* driver = nullptr;
  // Holder side: requests in the order they arrived, the one being sent.
  std::vector<std::uint32_t> queue;  // a vector: a deque allocates 512 bytes per connection
  FlowId flow = kNoFlow;
  std::uint32_t sending = 0;
  std::uint32_t sending_length = 0;
  std::uint32_t reported = 0;  // bytes of the chunk being sent that the getter has seen (ticks)
  // The chunk leaves in two flows: what the holder's socket buffer cannot
  // take at once, then the buffered tail. The kernel has taken the chunk's
  // last byte (the holder's slot is free: UploadScheduler::OnSent) when the
  // first ends; the getter has it when the second ends.
  bool tail = false;
  std::uint32_t head_bytes = 0;
  std::vector<std::uint32_t> spread_sent;
};

class SwarmWorld::Actions final : public peer::DriverActions {
 public:
  Actions(SwarmWorld& w, std::uint32_t node) : w_(w), node_(node) {}
  void Query() override { w_.Query(node_); }
  void Connect(peer::PeerKey key, const peer::HolderSet::Holder& h) override { w_.Connect(node_, key, h.id); }
  void Request(peer::PeerKey key, const std::vector<std::uint32_t>& chunks) override {
    w_.Request(node_, key, chunks);
  }
  void CancelRequest(peer::PeerKey key, std::uint32_t index) override { w_.CancelRequest(node_, key, index); }
  void Interest(peer::PeerKey key, std::uint8_t flags) override { w_.Interest(node_, key, flags); }
  void Close(peer::PeerKey key, const Status& why) override { w_.CloseFromGetter(node_, key, why); }
  void Verified(std::uint32_t index) override { w_.Verified(node_, index); }
  void Finished(const Status& why) override { w_.Finished(node_, why); }

 private:
  SwarmWorld& w_;
  std::uint32_t node_;
};

struct SwarmWorld::Node {
  HostId host = 0;
  bool getter = false, alive = true, whole = false;
  Bitfield have;
  Bitfield delivered;  // a seed's chunks that reached a getter, for seed_leaves_after_one_copy
  std::uint32_t delivered_count = 0;
  std::optional<peer::SpreadTracker> spread;  // a whole copy shared from the start
  std::optional<peer::UploadScheduler> sched;  // WorldConfig::grants
  std::uint64_t served = 0;                    // chunk bytes handed on, as ServeSession's uploaded_bytes
  peer::UploadCapacity capacity;
  peer::BanList bans;
  std::unique_ptr<Actions> actions;
  std::unique_ptr<peer::DownloadDriver> driver;
  FlatMap<peer::PeerKey, std::uint32_t> out;  // the driver's key -> conn
  std::vector<std::uint32_t> in;                         // conns it serves, in the order made
  std::uint32_t opened = 0;                              // OPENs it has had
  GetterOutcome outcome;
};

}  // namespace lanswarm::sim
