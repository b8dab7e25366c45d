#include "tests/sim/flow_network.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <queue>

namespace lanswarm::sim {

HostId FlowNetwork::AddHost(double up_bytes_per_s, double down_bytes_per_s) {
  Host h;
  h.up = up_bytes_per_s / 1e9;
  h.down = down_bytes_per_s / 1e9;
  hosts_.push_back(std::move(h));
  sum_out_.push_back(0);
  sum_in_.push_back(0);
  return static_cast<HostId>(hosts_.size() - 1);
}

void FlowNetwork::SetCapacity(HostId h, double up_bytes_per_s, double down_bytes_per_s) {
  hosts_[h].up = up_bytes_per_s / 1e9;
  hosts_[h].down = down_bytes_per_s / 1e9;
  Mark(h);
}

void FlowNetwork::Mark(HostId h) {
  if (hosts_[h].marked) return;
  hosts_[h].marked = true;
  dirty_hosts_.push_back(h);
}

void FlowNetwork::Advance(Flow& f, Nanos now) {
  if (now > f.since) {
    const double sent = std::min(f.remaining, f.rate * static_cast<double>(now - f.since));
    f.remaining -= sent;
    hosts_[f.src].uploaded += sent;
  }
  f.since = now;
}

FlowId FlowNetwork::Start(HostId src, HostId dst, double bytes, Nanos now) {
  FlowId id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<FlowId>(flows_.size());
    flows_.emplace_back();
    in_scratch_.push_back(0);
    heap_pos_.push_back(-1);
  }
  Flow& f = flows_[id];
  f = Flow{.src = src, .dst = dst, .size = bytes, .remaining = bytes, .rate = 0, .since = now, .active = true};
  hosts_[src].out.push_back(id);
  hosts_[dst].in.push_back(id);
  ++active_count_;
  Mark(src);
  Mark(dst);
  return id;
}

void FlowNetwork::Detach(FlowId id) {
  Flow& f = flows_[id];
  auto drop = [id](std::vector<FlowId>& v) {
    auto it = std::find(v.begin(), v.end(), id);
    assert(it != v.end());
    *it = v.back();
    v.pop_back();
  };
  drop(hosts_[f.src].out);
  drop(hosts_[f.dst].in);
  sum_out_[f.src] -= f.rate;
  sum_in_[f.dst] -= f.rate;
  Mark(f.src);
  Mark(f.dst);
  f.active = false;
  HeapRemove(id);
  --active_count_;
  free_.push_back(id);
}

void FlowNetwork::Stop(FlowId id, Nanos now) {
  if (!active(id)) return;
  Advance(flows_[id], now);
  Detach(id);
}

void FlowNetwork::Finish(FlowId id, Nanos now) {
  Flow& f = flows_[id];
  Advance(f, now);
  hosts_[f.src].uploaded += f.remaining;  // rounding: the flow is done
  f.remaining = 0;
  Detach(id);
}

double FlowNetwork::Sent(FlowId id, Nanos now) const {
  const Flow& f = flows_[id];
  const double since = now > f.since ? f.rate * static_cast<double>(now - f.since) : 0;
  return f.size - std::max(0.0, f.remaining - since);
}

void FlowNetwork::Schedule(FlowId id, Nanos now) {
  Flow& f = flows_[id];
  if (f.rate <= 0) {
    HeapRemove(id);  // finishes only once a later settle gives it a rate
    return;
  }
  f.due = now + static_cast<Nanos>(std::ceil(std::max(0.0, f.remaining / f.rate)));
  HeapSet(id);
}

FlowNetwork::Due FlowNetwork::PeekDue() {
  if (heap_.empty()) return Due{};
  return Due{heap_[0], flows_[heap_[0]].due};
}

void FlowNetwork::HeapSet(FlowId id) {
  if (heap_pos_[id] < 0) {
    heap_pos_[id] = static_cast<std::int64_t>(heap_.size());
    heap_.push_back(id);
  }
  const auto i = static_cast<std::size_t>(heap_pos_[id]);
  SiftUp(i);
  SiftDown(static_cast<std::size_t>(heap_pos_[id]));
}

void FlowNetwork::HeapRemove(FlowId id) {
  if (heap_pos_[id] < 0) return;
  const auto i = static_cast<std::size_t>(heap_pos_[id]);
  const FlowId last = heap_.back();
  heap_.pop_back();
  heap_pos_[id] = -1;
  if (i == heap_.size()) return;
  heap_[i] = last;
  heap_pos_[last] = static_cast<std::int64_t>(i);
  SiftUp(i);
  SiftDown(static_cast<std::size_t>(heap_pos_[last]));
}

void FlowNetwork::SiftUp(std::size_t i) {
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!Less(heap_[i], heap_[parent])) break;
    std::swap(heap_[i], heap_[parent]);
    heap_pos_[heap_[i]] = static_cast<std::int64_t>(i);
    heap_pos_[heap_[parent]] = static_cast<std::int64_t>(parent);
    i = parent;
  }
}

void FlowNetwork::SiftDown(std::size_t i) {
  for (;;) {
    std::size_t best = i;
    for (std::size_t c : {2 * i + 1, 2 * i + 2}) {
      if (c < heap_.size() && Less(heap_[c], heap_[best])) best = c;
    }
    if (best == i) break;
    std::swap(heap_[i], heap_[best]);
    heap_pos_[heap_[i]] = static_cast<std::int64_t>(i);
    heap_pos_[heap_[best]] = static_cast<std::int64_t>(best);
    i = best;
  }
}

void FlowNetwork::Settle(Nanos now, bool all) {
  // The flows to refill: every flow of a marked host (or every flow).
  scratch_.clear();
  auto take = [&](FlowId id) {
    if (in_scratch_[id]) return;
    in_scratch_[id] = 1;
    scratch_.push_back(id);
  };
  if (all) {
    for (FlowId id = 0; id < flows_.size(); ++id) {
      if (flows_[id].active) take(id);
    }
  } else {
    for (HostId h : dirty_hosts_) {
      for (FlowId id : hosts_[h].out) take(id);
      for (FlowId id : hosts_[h].in) take(id);
    }
  }
  for (HostId h : dirty_hosts_) hosts_[h].marked = false;
  dirty_hosts_.clear();
  if (scratch_.empty()) return;

  // Resources: 2h is h's upload, 2h+1 its download. What is left of each
  // for the taken flows is its capacity less the flows not taken.
  if (avail_.size() < 2 * hosts_.size()) {
    avail_.assign(2 * hosts_.size(), 0);
    count_.assign(2 * hosts_.size(), 0);
  }
  touched_.clear();
  for (FlowId id : scratch_) {
    Flow& f = flows_[id];
    Advance(f, now);
    for (std::uint32_t r : {2 * f.src, 2 * f.dst + 1}) {
      if (count_[r] == 0) {
        const HostId h = r / 2;
        avail_[r] = (r % 2 == 0 ? hosts_[h].up - sum_out_[h] : hosts_[h].down - sum_in_[h]);
        touched_.push_back(r);
      }
      ++count_[r];
      avail_[r] += f.rate;  // this flow's old share is free to hand out again
    }
  }
  // Progressive filling: the resource with the smallest fair share fixes
  // its flows at that share; the others' shares are updated and refilled.
  using Share = std::pair<double, std::uint32_t>;
  std::priority_queue<Share, std::vector<Share>, std::greater<>> heap;
  auto share = [&](std::uint32_t r) { return std::max(0.0, avail_[r]) / count_[r]; };
  for (std::uint32_t r : touched_) heap.emplace(share(r), r);
  new_rate_.resize(flows_.size());
  while (!heap.empty()) {
    const auto [s, r] = heap.top();
    heap.pop();
    if (count_[r] == 0 || s != share(r)) continue;  // stale entry
    const HostId h = r / 2;
    const std::vector<FlowId>& list = r % 2 == 0 ? hosts_[h].out : hosts_[h].in;
    for (FlowId id : list) {
      Flow& f = flows_[id];
      if (f.fixed || !in_scratch_[id]) continue;
      f.fixed = true;
      new_rate_[id] = s;
      const std::uint32_t other = r % 2 == 0 ? 2 * f.dst + 1 : 2 * f.src;
      avail_[other] -= s;
      if (--count_[other] > 0) heap.emplace(share(other), other);
    }
    count_[r] = 0;
  }
  for (FlowId id : scratch_) {
    Flow& f = flows_[id];
    f.fixed = false;
    in_scratch_[id] = 0;
    const double rate = new_rate_[id];
    if (rate == f.rate) continue;
    sum_out_[f.src] += rate - f.rate;
    sum_in_[f.dst] += rate - f.rate;
    f.rate = rate;
    Schedule(id, now);
  }
  for (std::uint32_t r : touched_) count_[r] = 0;
  if (all) {
    // Bound the drift of the running sums.
    std::fill(sum_out_.begin(), sum_out_.end(), 0);
    std::fill(sum_in_.begin(), sum_in_.end(), 0);
    for (const Flow& f : flows_) {
      if (!f.active) continue;
      sum_out_[f.src] += f.rate;
      sum_in_[f.dst] += f.rate;
    }
  }
}

}  // namespace lanswarm::sim
