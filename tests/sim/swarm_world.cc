#include "tests/sim/swarm_world.h"

#include <algorithm>

#include "tests/sim/swarm_world_internal.h"

namespace lanswarm::sim {

SwarmWorld::SwarmWorld(WorldConfig config) : config_(std::move(config)), rng_(config_.seed) {
  table_ = std::make_unique<coordinator::AvailabilityTable>(
      table_clock_, config_.report_interval * config_.expiry_multiple,
      coordinator::TableLimits{.max_peers_per_address = 1}, std::array<std::uint8_t, 16>{1, 2, 3});
  // The delays most events take (messages, ticks): FIFO lanes (event_queue.h).
  for (Nanos d : {config_.one_way, 2 * config_.one_way, 3 * config_.one_way,
                  Nanos{std::chrono::nanoseconds(peer::DownloadDriver::kTick).count()}}) {
    events_.AddLane(d);
  }
  chunk_count_ = static_cast<std::uint32_t>((config_.file_size + config_.chunk_size - 1) / config_.chunk_size);
  for (std::size_t i = 0; i < file_.bytes.size(); ++i) file_.bytes[i] = static_cast<std::uint8_t>(rng_());
  auto add = [&](const HostSpec& spec, bool getter) {
    auto n = std::make_unique<Node>();
    n->host = net_.AddHost(spec.up, spec.down);
    n->getter = getter;
    if (config_.grants) {
      n->sched.emplace(peer::UploadOptions{
          .slots = config_.grant_slots, .turn_chunks = config_.turn_chunks, .depth = config_.turn_depth});
    }
    n->have = Bitfield(chunk_count_);
    n->delivered = Bitfield(chunk_count_);
    n->outcome.start = spec.start;
    const auto index = static_cast<std::uint32_t>(nodes_.size());
    if (!getter) {
      for (std::uint32_t i = 0; i < chunk_count_; ++i) n->have.set(i);
      n->whole = true;
      n->spread.emplace(chunk_count_);
    }
    nodes_.push_back(std::move(n));
    // Reports start at a random phase of the interval, as daemons started
    // at different times do; the first goes out at once.
    Schedule(getter ? spec.start : 0, Kind::kReport, index);
    if (getter) Schedule(spec.start, Kind::kStart, index);
    if (spec.kill >= 0) Schedule(spec.kill, Kind::kKill, index);
  };
  for (const HostSpec& s : config_.seeds) add(s, false);
  for (const HostSpec& s : config_.getters) add(s, true);
  open_getters_ = static_cast<std::uint32_t>(config_.getters.size());
  Schedule(100'000'000, Kind::kSettleAll, 0);
}

SwarmWorld::~SwarmWorld() = default;

void SwarmWorld::Schedule(Nanos delay, Kind kind, std::uint32_t a, std::uint32_t b, std::uint32_t c) {
  events_.Push(delay, Event{now_ + delay, seq_++, kind, a, b, c});
}

WorldResult SwarmWorld::Run() {
  WorldResult r;
  while (open_getters_ > 0) {
    if (net_.dirty()) net_.Settle(now_);
    const FlowNetwork::Due due = net_.PeekDue();
    const bool flow_first = due.flow != kNoFlow && (events_.empty() || due.at <= events_.top().at);
    if (!flow_first && events_.empty()) break;
    const Nanos next = flow_first ? due.at : events_.top().at;
    if (next > config_.limit) {
      r.hit_limit = true;
      break;
    }
    now_ = std::max(now_, next);
    ++dispatched_;
    if (flow_first) {
      OnFlowDone(due.flow);
    } else {
      const Event e = events_.top();
      events_.pop();
      Dispatch(e);
    }
  }
  r.end = now_;
  r.events = dispatched_;
  r.rejects = counts_.rejects;
  r.duplicates = counts_.duplicates;
  for (const auto& n : nodes_) {
    if (n->getter) {
      r.getters.push_back(n->outcome);
    } else {
      r.seed_upload_bytes += net_.uploaded(n->host);
    }
  }
  return r;
}

void SwarmWorld::Dispatch(const Event& e) {
  switch (e.kind) {
    case Kind::kStart: return StartGetter(e.a);
    case Kind::kKill: return Kill(e.a);
    case Kind::kTick: return Tick(e.a);
    case Kind::kReport: {
      if (!nodes_[e.a]->alive) return;
      Report(e.a);
      Schedule(std::chrono::nanoseconds(config_.report_interval).count(), Kind::kReport, e.a);
      return;
    }
    case Kind::kReportArrives: {
      SyncTable();
      const Node& n = *nodes_[e.a];
      // Not filed once its sender is dead: a real one sent just before
      // may land, and would expire after k x N as this peer does.
      if (!n.alive) return;
      const proto::ReportEntry entry{file_, static_cast<proto::FileState>(e.b)};
      (void)table_->Report(IdOf(e.a), EndpointOf(e.a), std::span(&entry, 1), EndpointOf(e.a),
                           n.capacity.bytes_per_second());
      return;
    }
    case Kind::kQueryArrives: {
      SyncTable();
      answers_.push_back(table_->Query(file_, IdOf(e.a)));
      Schedule(config_.one_way, Kind::kHolders, e.a, static_cast<std::uint32_t>(answers_.size() - 1));
      return;
    }
    case Kind::kHolders: {
      Node& n = *nodes_[e.a];
      std::vector<proto::Holder> list = std::move(answers_[e.b]);
      if (n.alive && n.driver && !n.driver->finished()) n.driver->OnHolders(list, Time());
      return;
    }
    case Kind::kConnected: {
      Conn& c = conns_[e.a];
      if (c.closed) return;
      c.connected = true;
      nodes_[c.getter]->driver->OnConnected(c.key, Time());
      Schedule(config_.one_way, Kind::kOpen, e.a);
      return;
    }
    case Kind::kRefused: {
      Conn& c = conns_[e.a];
      if (c.closed) return;
      c.closed = true;
      Node& g = *nodes_[c.getter];
      g.out.erase(c.key);
      if (g.driver && !g.driver->finished()) {
        g.driver->OnClosed(c.key, Status::IOError("connection refused"), false, Time());
      }
      return;
    }
    case Kind::kOpen: return OnOpen(e.a);
    case Kind::kBitfield: {
      Conn& c = conns_[e.a];
      Bitfield has = std::move(bitfields_[e.b]);
      if (!c.closed) nodes_[c.getter]->driver->OnBitfield(c.key, has, Time(), nodes_[c.holder]->sched.has_value());
      return;
    }
    case Kind::kHaves: {
      // One HAVE per connection, in the order the holder's conns were
      // made, to those that had sent OPEN when it was sent and are still
      // open: what one event per connection, scheduled together and so
      // dispatched together, gave, at a twenty-sixth of the events.
      const Node& h = *nodes_[e.a];
      for (std::size_t i = 0; i < h.in.size(); ++i) {  // by index: nothing here adds to it, but if it did
        const Conn& c = conns_[h.in[i]];
        if (c.open_at_holder && c.open_order < e.c && !c.closed) c.driver->OnHave(c.key, e.b, Time());
      }
      return;
    }
    case Kind::kRequest: {
      Conn& c = conns_[e.a];
      if (c.closed) return;
      if (auto& sched = nodes_[c.holder]->sched; sched && !sched->OnRequest(e.a)) {
        // Its grant lapsed: asked again when it is granted again.
        Schedule(config_.one_way, Kind::kReject, e.a, e.b, static_cast<std::uint32_t>(proto::RejectReason::kBusy));
        return;
      }
      c.queue.push_back(e.b);
      return Pump(e.a);
    }
    case Kind::kCancel: {
      Conn& c = conns_[e.a];
      if (c.closed) return;
      // As peer/serve_session: a granted request dropped unsent frees its slot.
      Node& h = *nodes_[c.holder];
      const std::size_t dropped = std::erase(c.queue, e.b);
      if (h.sched && dropped > 0) {
        for (std::size_t i = 0; i < dropped; ++i) h.sched->OnSent(e.a);
        RunGrants(c.holder);
      }
      return;
    }
    case Kind::kReject: {
      Conn& c = conns_[e.a];
      ++counts_.rejects[std::min<std::uint32_t>(e.c, 7)];
      if (!c.closed) {
        nodes_[c.getter]->driver->OnReject(c.key, e.b, static_cast<proto::RejectReason>(e.c), Time());
      }
      return;
    }
    case Kind::kChunk: return OnChunkArrived(e.a, e.b, e.c);
    case Kind::kTaken: return OnTaken(e.a);
    case Kind::kClosedAtGetter: {
      Conn& c = conns_[e.a];
      Node& g = *nodes_[c.getter];
      if (!g.alive) return;
      g.out.erase(c.key);
      if (g.driver && !g.driver->finished()) {
        g.driver->OnClosed(c.key, Status::IOError("closed"), c.connected, Time());
      }
      return;
    }
    case Kind::kClosedAtHolder: return ForgetServing(conns_[e.a]);
    case Kind::kInterest: {
      Conn& c = conns_[e.a];
      Node& h = *nodes_[c.holder];
      if (c.closed || !h.sched || !h.alive) return;
      // As peer/serve_session does with INTEREST.
      h.sched->SetFavoured(e.a, (e.b & proto::kParent) != 0);
      h.sched->SetInterested(e.a, (e.b & proto::kInterested) != 0, (e.b & proto::kPass) != 0);
      return RunGrants(c.holder);
    }
    case Kind::kGrant: {
      Conn& c = conns_[e.a];
      if (!c.closed) nodes_[c.getter]->driver->OnGrant(c.key, Time());
      return;
    }
    case Kind::kGrantCheck:
      if (nodes_[e.a]->alive) RunGrants(e.a);
      return;
    case Kind::kSettleAll:
      net_.Settle(now_, true);
      if (++settles_ % 10 == 0) SampleUploads();
      Schedule(100'000'000, Kind::kSettleAll, 0);
      return;
  }
}

void SwarmWorld::SetFlowConn(FlowId flow, std::uint32_t conn) {
  if (flow >= flow_conn_.size()) flow_conn_.resize(flow + 1);
  flow_conn_[flow] = conn;
}

void SwarmWorld::SyncTable() {
  table_clock_.Advance(std::chrono::nanoseconds(now_ - table_at_));
  table_at_ = now_;
}

// --- Getter side -------------------------------------------------------

void SwarmWorld::StartGetter(std::uint32_t index) {
  Node& n = *nodes_[index];
  if (!n.alive) return;
  n.actions = std::make_unique<Actions>(*this, index);
  peer::DriverOptions options{.file = file_,
                              .file_name = "sim",
                              .chunk_count = chunk_count_,
                              .chunk_size = config_.chunk_size,
                              .max_peers = config_.download_peers,
                              .max_incoming = config_.max_incoming,
                              .seed = config_.seed * 1'000'003 + index,
                              .log = false};
  n.driver = std::make_unique<peer::DownloadDriver>(options, IdOf(index), n.bans, *n.actions);
  n.driver->Start(Time());
  // Ticks at a random phase: daemons are not in step.
  Schedule(static_cast<Nanos>(rng_() % 100'000'000), Kind::kTick, index);
}

void SwarmWorld::Tick(std::uint32_t index) {
  Node& n = *nodes_[index];
  if (!n.alive || !n.driver || n.driver->finished()) return;
  // The bytes that arrived since the last tick, as the daemon's pieces do.
  for (const auto& [key, id] : n.out) {
    Conn& c = conns_[id];
    if (c.flow == kNoFlow || c.closed) continue;
    const auto sent = static_cast<std::uint32_t>(net_.Sent(c.flow, now_)) + (c.tail ? c.head_bytes : 0);
    if (sent > c.reported) {
      n.driver->OnData(key, sent - c.reported, Time());
      c.reported = sent;
    }
  }
  n.driver->Tick(Time());
  Schedule(std::chrono::nanoseconds(peer::DownloadDriver::kTick).count(), Kind::kTick, index);
}

void SwarmWorld::Connect(std::uint32_t node, peer::PeerKey key, const PeerId& holder) {
  const std::uint32_t h = NodeOf(holder);
  const auto id = static_cast<std::uint32_t>(conns_.size());
  Conn c;
  c.getter = node;
  c.holder = h;
  c.key = key;
  c.driver = nodes_[node]->driver.get();
  conns_.push_back(std::move(c));
  nodes_[node]->out[key] = id;
  // TCP's handshake and HELLO/AUTH: one and a half round trips; a dead
  // holder's host answers the SYN with a reset.
  if (h >= nodes_.size() || !nodes_[h]->alive) {
    Schedule(2 * config_.one_way, Kind::kRefused, id);
  } else {
    nodes_[h]->in.push_back(id);
    Schedule(3 * config_.one_way, Kind::kConnected, id);
  }
}

void SwarmWorld::Request(std::uint32_t node, peer::PeerKey key, const std::vector<std::uint32_t>& chunks) {
  auto it = nodes_[node]->out.find(key);
  if (it == nodes_[node]->out.end()) return;
  for (std::uint32_t index : chunks) Schedule(config_.one_way, Kind::kRequest, it->second, index);
}

void SwarmWorld::Interest(std::uint32_t node, peer::PeerKey key, std::uint8_t flags) {
  auto it = nodes_[node]->out.find(key);
  if (it != nodes_[node]->out.end()) Schedule(config_.one_way, Kind::kInterest, it->second, flags);
}

void SwarmWorld::CancelRequest(std::uint32_t node, peer::PeerKey key, std::uint32_t index) {
  auto it = nodes_[node]->out.find(key);
  if (it != nodes_[node]->out.end()) Schedule(config_.one_way, Kind::kCancel, it->second, index);
}

void SwarmWorld::CloseFromGetter(std::uint32_t node, peer::PeerKey key, const Status&) {
  auto it = nodes_[node]->out.find(key);
  if (it == nodes_[node]->out.end()) return;
  CloseConn(it->second, true, true);
}

void SwarmWorld::Verified(std::uint32_t node, std::uint32_t index) {
  Node& n = *nodes_[node];
  n.have.set(index);
  Schedule(config_.one_way, Kind::kHaves, node, index, n.opened);
}

void SwarmWorld::Finished(std::uint32_t node, const Status& why) {
  Node& n = *nodes_[node];
  if (why.ok()) {
    n.whole = true;
    n.outcome.done = now_;
    Report(node);  // the daemon reports a completed download at once
  } else {
    n.outcome.error = why.message();
  }
  // Its connections to holders close; it goes on serving.
  std::vector<std::uint32_t> out;
  for (const auto& [key, c] : n.out) out.push_back(c);
  std::sort(out.begin(), out.end());
  for (std::uint32_t c : out) CloseConn(c, false, true);
  n.out.clear();
  --open_getters_;
}

void SwarmWorld::OnChunkArrived(std::uint32_t conn, std::uint32_t index, std::uint32_t rest) {
  Conn& c = conns_[conn];
  if (c.closed) return;
  Node& g = *nodes_[c.getter];
  peer::DownloadDriver& d = *g.driver;
  d.OnData(c.key, rest, Time());
  Node& h = *nodes_[c.holder];
  if (config_.seed_leaves_after_one_copy && !h.getter && h.alive && !h.delivered.has(index)) {
    // One full copy has left once every chunk has reached a getter once
    // (on arrival: bytes the seed sent just before it went still land).
    h.delivered.set(index);
    if (++h.delivered_count == chunk_count_) Schedule(0, Kind::kKill, c.holder);
  }
  // As peer/fetch_session: a chunk nobody wants any more is dropped unseen.
  if (d.Wanted(index)) {
    d.OnChunk(c.key, index, true, Time());
  } else {
    ++counts_.duplicates;
  }
}

// --- Both ----------------------------------------------------------------

void SwarmWorld::CloseConn(std::uint32_t conn, bool tell_getter, bool tell_holder) {
  Conn& c = conns_[conn];
  if (c.closed) return;
  c.closed = true;
  if (c.flow != kNoFlow) {
    net_.Stop(c.flow, now_);
    c.flow = kNoFlow;
  }
  c.queue.clear();
  // The side that closes learns it at once (the driver, after this action
  // returns); the other a one-way latency later.
  if (tell_getter) Schedule(0, Kind::kClosedAtGetter, conn);
  if (tell_holder) Schedule(config_.one_way, Kind::kClosedAtHolder, conn);
}

void SwarmWorld::Kill(std::uint32_t index) {
  Node& n = *nodes_[index];
  if (!n.alive) return;
  n.alive = false;
  if (n.getter) {
    n.outcome.killed = true;
    if (n.outcome.done < 0) --open_getters_;
    if (n.driver) n.driver->Stop();
  }
  // Its sockets are reset: each peer learns it a one-way latency later.
  std::vector<std::uint32_t> mine(n.in.begin(), n.in.end());
  for (const auto& [key, c] : n.out) mine.push_back(c);
  std::sort(mine.begin(), mine.end());
  for (std::uint32_t c : mine) {
    Conn& conn = conns_[c];
    if (conn.closed) continue;
    const bool is_getter = conn.getter == index;
    CloseConn(c, false, false);
    Schedule(config_.one_way, is_getter ? Kind::kClosedAtHolder : Kind::kClosedAtGetter, c);
  }
  n.out.clear();
  n.in.clear();
}

void SwarmWorld::Report(std::uint32_t index) {
  const Node& n = *nodes_[index];
  const proto::FileState state = n.whole ? proto::FileState::kWhole : proto::FileState::kPartial;
  Schedule(config_.one_way, Kind::kReportArrives, index, static_cast<std::uint32_t>(state));
}

void SwarmWorld::SampleUploads() {
  for (std::uint32_t i = 0; i < nodes_.size(); ++i) {
    Node& n = *nodes_[i];
    if (n.alive && n.sched && n.capacity.Sample(n.served, n.sched->busy_time())) Report(i);
  }
}

void SwarmWorld::Query(std::uint32_t node) { Schedule(config_.one_way, Kind::kQueryArrives, node); }

}  // namespace lanswarm::sim
