// SwarmWorld, the holder side: OPEN answered with a BITFIELD, requests
// served in order one chunk at a time per connection (as
// peer/serve_session), the grants of a holder's scheduler, and the trees'
// parents when they come from the hosts' uploads.
#include "tests/sim/swarm_world_internal.h"

namespace lanswarm::sim {

void SwarmWorld::OnOpen(std::uint32_t conn) {
  Conn& c = conns_[conn];
  if (c.closed) return;
  c.open_at_holder = true;
  c.open_order = nodes_[c.holder]->opened++;
  bitfields_.push_back(nodes_[c.holder]->have);
  Schedule(config_.one_way, Kind::kBitfield, conn, static_cast<std::uint32_t>(bitfields_.size() - 1));
}

void SwarmWorld::Pump(std::uint32_t conn) {
  Conn& c = conns_[conn];
  Node& h = *nodes_[c.holder];
  while (!c.closed && c.flow == kNoFlow && !c.queue.empty()) {
    const std::uint32_t index = c.queue.front();
    if (index >= chunk_count_ || !h.have.has(index)) {
      c.queue.erase(c.queue.begin());
      if (h.sched) Refused(conn);
      Schedule(config_.one_way, Kind::kReject, conn, index, static_cast<std::uint32_t>(proto::RejectReason::kMissing));
      continue;
    }
    c.queue.erase(c.queue.begin());
    if (h.spread && !h.spread->ShouldSend(index)) {
      if (h.sched) Refused(conn);
      Schedule(config_.one_way, Kind::kReject, conn, index,
               static_cast<std::uint32_t>(proto::RejectReason::kElsewhere));
      continue;
    }
    if (h.spread && !h.spread->spread()) {
      h.spread->OnSent(index);
      c.spread_sent.push_back(index);
    }
    const std::uint64_t at = static_cast<std::uint64_t>(index) * config_.chunk_size;
    const std::uint64_t length = std::min(config_.chunk_size, config_.file_size - at);
    c.sending = index;
    c.sending_length = static_cast<std::uint32_t>(length);
    h.served += length;  // counted when handed on, as ServeSession does
    c.reported = 0;
    c.head_bytes = static_cast<std::uint32_t>(length > config_.socket_buffer ? length - config_.socket_buffer : 0);
    c.tail = c.head_bytes == 0;
    c.flow = net_.Start(h.host, nodes_[c.getter]->host, static_cast<double>(c.tail ? length : c.head_bytes), now_);
    // Small enough for the buffer: taken at once.
    if (c.tail) Schedule(0, Kind::kTaken, conn);
    SetFlowConn(c.flow, conn);
  }
}

// As peer/serve_session: a refused granted request keeps its grant, which
// may lapse unused.
void SwarmWorld::Refused(std::uint32_t conn) {
  Conn& c = conns_[conn];
  Node& h = *nodes_[c.holder];
  h.sched->OnRefused(conn, Time());
  Schedule(std::chrono::nanoseconds(h.sched->options().grant_timeout).count() + 1, Kind::kGrantCheck, c.holder);
}

void SwarmWorld::OnFlowDone(FlowId flow) {
  net_.Finish(flow, now_);
  const std::uint32_t conn = flow_conn_[flow];
  Conn& c = conns_[conn];
  if (!c.tail) {
    // The kernel has taken the last byte; the buffered rest goes on.
    c.tail = true;
    const double rest = c.sending_length - c.head_bytes;
    c.flow = net_.Start(nodes_[c.holder]->host, nodes_[c.getter]->host, rest, now_);
    SetFlowConn(c.flow, conn);
    return OnTaken(conn);
  }
  c.flow = kNoFlow;
  Schedule(config_.one_way, Kind::kChunk, conn, c.sending, c.sending_length - std::min(c.reported, c.sending_length));
  Pump(conn);
}

void SwarmWorld::OnTaken(std::uint32_t conn) {
  Conn& c = conns_[conn];
  Node& h = *nodes_[c.holder];
  if (c.closed || !h.alive || !h.sched) return;
  h.sched->OnSent(conn);
  RunGrants(c.holder);
}

void SwarmWorld::ForgetServing(Conn& c) {
  Node& h = *nodes_[c.holder];
  if (h.spread) {
    for (std::uint32_t index : c.spread_sent) h.spread->OnLost(index);
  }
  c.spread_sent.clear();
  const auto conn = static_cast<std::uint32_t>(&c - conns_.data());
  std::erase(h.in, conn);
  if (h.alive && h.sched) {
    h.sched->Forget(conn);
    RunGrants(c.holder);
  }
}

void SwarmWorld::RunGrants(std::uint32_t holder) {
  Node& h = *nodes_[holder];
  const std::vector<peer::UploadScheduler::ConnKey> grants = h.sched->Grants(Time());
  for (peer::UploadScheduler::ConnKey c : grants) {
    Schedule(config_.one_way, Kind::kGrant, static_cast<std::uint32_t>(c));
  }
  if (!grants.empty()) {
    Schedule(std::chrono::nanoseconds(h.sched->options().grant_timeout).count() + 1, Kind::kGrantCheck, holder);
  }
}

}  // namespace lanswarm::sim
