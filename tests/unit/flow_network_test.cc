// The simulator's network model: max-min fair rates over each flow's
// sender upload and receiver download, and exact finish times.
#include <catch2/catch.hpp>

#include "tests/sim/flow_network.h"

namespace lanswarm::sim {

namespace {
constexpr Nanos kSecond = 1'000'000'000;
constexpr double kMB = 1e6;

// Runs the network until no flow is left; returns each finish time in s.
std::vector<double> Drain(FlowNetwork& net, Nanos now, std::size_t flows) {
  std::vector<double> at(flows, -1);
  for (;;) {
    if (net.dirty()) net.Settle(now);
    const FlowNetwork::Due due = net.PeekDue();
    if (due.flow == kNoFlow) break;
    now = due.at;
    net.Finish(due.flow, now);
    at[due.flow] = static_cast<double>(now) / kSecond;
  }
  return at;
}
}  // namespace

TEST_CASE("flow network: one flow runs at the smaller of upload and download") {
  FlowNetwork net;
  const HostId a = net.AddHost(10 * kMB, 10 * kMB), b = net.AddHost(10 * kMB, 4 * kMB);
  net.Start(a, b, 8 * kMB, 0);
  const auto at = Drain(net, 0, 1);
  CHECK(at[0] == Approx(2.0).epsilon(1e-6));
  CHECK(net.uploaded(a) == Approx(8 * kMB));
}

TEST_CASE("flow network: flows from one sender share its upload") {
  FlowNetwork net;
  const HostId s = net.AddHost(10 * kMB, 0), b = net.AddHost(0, 100 * kMB), c = net.AddHost(0, 100 * kMB);
  net.Start(s, b, 10 * kMB, 0);
  net.Start(s, c, 10 * kMB, 0);
  const auto at = Drain(net, 0, 2);
  CHECK(at[0] == Approx(2.0).epsilon(1e-6));
  CHECK(at[1] == Approx(2.0).epsilon(1e-6));
}

TEST_CASE("flow network: max-min gives a receiver-bound flow's leftover to the other") {
  FlowNetwork net;
  const HostId s = net.AddHost(10 * kMB, 0), slow = net.AddHost(0, 2 * kMB), fast = net.AddHost(0, 100 * kMB);
  const FlowId f_slow = net.Start(s, slow, 2 * kMB, 0);
  const FlowId f_fast = net.Start(s, fast, 8 * kMB, 0);
  net.Settle(0);
  CHECK(net.rate_bytes_per_s(f_slow) == Approx(2 * kMB));
  CHECK(net.rate_bytes_per_s(f_fast) == Approx(8 * kMB));
  const auto at = Drain(net, 0, 2);
  CHECK(at[f_slow] == Approx(1.0).epsilon(1e-6));
  CHECK(at[f_fast] == Approx(1.0).epsilon(1e-6));
}

TEST_CASE("flow network: a stopped flow frees its share at the next settle") {
  FlowNetwork net;
  const HostId s = net.AddHost(10 * kMB, 0), b = net.AddHost(0, 100 * kMB), c = net.AddHost(0, 100 * kMB);
  const FlowId f1 = net.Start(s, b, 10 * kMB, 0);
  const FlowId f2 = net.Start(s, c, 10 * kMB, 0);
  net.Settle(0);
  net.Stop(f1, kSecond);  // 5 MB sent by each
  CHECK_FALSE(net.active(f1));
  const auto at = Drain(net, kSecond, 2);
  CHECK(at[f2] == Approx(1.5).epsilon(1e-6));  // the last 5 MB at 10 MB/s
  CHECK(net.uploaded(s) == Approx(15 * kMB));
}

TEST_CASE("flow network: the full refill agrees with the local one") {
  FlowNetwork local, full;
  for (FlowNetwork* net : {&local, &full}) {
    for (int i = 0; i < 4; ++i) net->AddHost((i + 1) * kMB, (4 - i) * kMB);
    net->Start(0, 1, kMB, 0);
    net->Start(0, 2, kMB, 0);
    net->Start(1, 3, kMB, 0);
    net->Start(2, 3, kMB, 0);
    net->Start(3, 0, kMB, 0);
  }
  local.Settle(0);
  full.Settle(0, true);
  for (FlowId f = 0; f < 5; ++f) CHECK(local.rate_bytes_per_s(f) == Approx(full.rate_bytes_per_s(f)));
}

}  // namespace lanswarm::sim
