// The simulator's network: hosts with an upload and a download capacity
// (a switch that is never the bottleneck, as on the testbed's bridge), and
// flows between them, each one chunk on one connection. Rates are max-min
// fair over the two resources a flow crosses, its sender's upload and its
// receiver's download, which is what competing TCP flows with equal RTTs
// approach on tbf-shaped links.
//
// Recomputing max-min over every flow at every change would cost O(flows)
// per chunk; instead a change marks its two hosts, and Settle() refills only
// the flows of marked hosts, holding the rates of every other flow as they
// were (their share of the far hosts is taken as given). A flow elsewhere
// that could now run faster does so once its own hosts next change, which
// on a busy swarm is within about one chunk's time; Settle(all) refills
// everything and bounds that drift (the simulator does it periodically).
//
// Time is integer nanoseconds; bytes and rates are doubles (bytes per ns).
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace lanswarm::sim {

using Nanos = std::int64_t;
using HostId = std::uint32_t;
using FlowId = std::uint32_t;
inline constexpr FlowId kNoFlow = std::numeric_limits<FlowId>::max();

class FlowNetwork {
 public:
  // Capacities in bytes per second.
  HostId AddHost(double up_bytes_per_s, double down_bytes_per_s);
  void SetCapacity(HostId h, double up_bytes_per_s, double down_bytes_per_s);

  // A flow of `bytes` from `src` to `dst` starts at `now`; its rate is set
  // by the next Settle.
  FlowId Start(HostId src, HostId dst, double bytes, Nanos now);
  // Ends a flow early (a connection closed, a host died).
  void Stop(FlowId f, Nanos now);

  // Brings every flow's rate up to date at `now` (see above).
  void Settle(Nanos now, bool all = false);
  bool dirty() const { return !dirty_hosts_.empty(); }

  // The earliest flow to finish at the current rates and when; kNoFlow when
  // none will. Pops it: the caller then calls Finish.
  struct Due {
    FlowId flow = kNoFlow;
    Nanos at = 0;
  };
  Due PeekDue();
  // The flow `PeekDue` named has delivered its last byte at `now`.
  void Finish(FlowId f, Nanos now);

  bool active(FlowId f) const { return f < flows_.size() && flows_[f].active; }
  HostId src(FlowId f) const { return flows_[f].src; }
  HostId dst(FlowId f) const { return flows_[f].dst; }
  double rate_bytes_per_s(FlowId f) const { return flows_[f].rate * 1e9; }
  // Bytes of an active flow sent by `now` at its current rate.
  double Sent(FlowId f, Nanos now) const;
  std::size_t active_flows() const { return active_count_; }
  // Bytes a host has sent in flows that finished or stopped, and in flows
  // still running up to their last settle.
  double uploaded(HostId h) const { return hosts_[h].uploaded; }

 private:
  struct Host {
    double up = 0, down = 0;  // bytes per ns
    std::vector<FlowId> out, in;
    double uploaded = 0;
    bool marked = false;
  };
  struct Flow {
    HostId src = 0, dst = 0;
    double size = 0;
    double remaining = 0;  // bytes at `since`
    double rate = 0;       // bytes per ns
    Nanos since = 0;
    Nanos due = 0;              // when it finishes at its rate; its key in the due heap
    bool active = false;
    bool fixed = false;         // Settle: its rate is decided
  };

  void Mark(HostId h);
  void Advance(Flow& f, Nanos now);
  void Detach(FlowId id);
  void Schedule(FlowId id, Nanos now);
  // The due heap: a binary min-heap of flows by (due, id), indexed so that a
  // flow's key changes in place (at N = 1,000 a plain queue of timestamps
  // spent a third of the run skipping stale entries).
  bool Less(FlowId a, FlowId b) const {
    return flows_[a].due != flows_[b].due ? flows_[a].due < flows_[b].due : a < b;
  }
  void HeapSet(FlowId id);     // insert, or move after a key change
  void HeapRemove(FlowId id);  // if present
  void SiftUp(std::size_t i);
  void SiftDown(std::size_t i);

  std::vector<Host> hosts_;
  std::vector<Flow> flows_;
  std::vector<FlowId> free_;
  std::vector<HostId> dirty_hosts_;
  std::vector<FlowId> heap_;
  std::vector<std::int64_t> heap_pos_;  // per flow: its index in heap_, -1 when absent
  std::size_t active_count_ = 0;
  std::vector<double> sum_out_, sum_in_;  // per host: the rates of its flows
  // Settle's scratch, kept to avoid reallocating.
  std::vector<FlowId> scratch_;
  std::vector<std::uint8_t> in_scratch_;
  std::vector<std::uint32_t> touched_;
  std::vector<double> avail_, new_rate_;
  std::vector<std::uint32_t> count_;
};

}  // namespace lanswarm::sim
