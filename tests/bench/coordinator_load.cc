// Load on a real coordinator process: P simulated peers with F files each
// (drawn from a catalog of C files) reporting every N seconds, staggered
// evenly, plus a stream of Q queries per second whose latency is measured.
// Reads the coordinator's CPU time and RSS from /proc.
//
// usage: coordinator_load BIN [peers files catalog interval_s seconds queries_per_s]
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <atomic>
#include <string>
#include <unordered_map>

#include "common/auth/identity.h"
#include "common/net/loop.h"
#include "common/net/session.h"
#include "common/sodium_init.h"
#include "tests/support/child_process.h"
#include "tests/support/proc_sample.h"
#include "tests/support/temp_dir.h"

using namespace lanswarm;
using namespace lanswarm::net;
using namespace std::chrono_literals;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {

FileId CatalogFile(std::uint32_t n) {
  FileId id;
  for (int i = 0; i < 4; ++i) id.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
  id.bytes[15] = 0x5A;
  return id;
}

// Every simulated peer proves its own key pair (protocol v2), so the bench
// pays the coordinator's real handshake cost.
SessionOptions OptionsFor(proto::Role role) {
  SessionOptions o;
  o.hello.role = role;
  o.identity = std::make_shared<const auth::Identity>(auth::Identity::Ephemeral());
  return o;
}

// A simulated peer: one session, reports when told to.
struct SimPeer : SessionHandler {
  Session* session = nullptr;  // set once ready, null once closed
  proto::Report report;
  std::uint32_t id = 0;
  int* connected;
  const bool* stopping;
  void OnReady(Session& s) override {
    session = &s;
    ++*connected;
  }
  void OnMessage(Session&, const proto::Message&) override {}
  void OnClosed(Session&, const Status& why) override {
    if (session != nullptr) --*connected;
    session = nullptr;
    if (!why.ok() && !*stopping) std::fprintf(stderr, "peer %u closed: %s\n", id, why.message().c_str());
  }
};

// Sends queries and measures the time to each answer.
struct Querier : SessionHandler {
  Session* session = nullptr;
  std::unordered_map<std::uint32_t, SteadyTime> pending;
  std::vector<double>* latencies_us;
  std::uint64_t* empty_answers;
  void OnReady(Session& s) override { session = &s; }
  void OnMessage(Session&, const proto::Message& m) override {
    const auto now = std::chrono::steady_clock::now();
    if (const auto* h = std::get_if<proto::Holders>(&m)) {
      auto it = pending.find(h->request_id);
      if (it == pending.end()) return;
      latencies_us->push_back(std::chrono::duration<double, std::micro>(now - it->second).count());
      if (h->holders.empty()) ++*empty_answers;
      pending.erase(it);
    }
  }
  void OnClosed(Session&, const Status&) override { session = nullptr; }
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: coordinator_load BIN [peers files catalog interval_s seconds queries_per_s]\n");
    return 2;
  }
  const std::string bin = argv[1];
  const std::uint32_t peers = argc > 2 ? static_cast<std::uint32_t>(std::stoul(argv[2])) : 10000;
  const std::uint32_t files = argc > 3 ? static_cast<std::uint32_t>(std::stoul(argv[3])) : 100;
  const std::uint32_t catalog = argc > 4 ? static_cast<std::uint32_t>(std::stoul(argv[4])) : 10000;
  const int interval_s = argc > 5 ? std::stoi(argv[5]) : 10;
  const int seconds = argc > 6 ? std::stoi(argv[6]) : 45;
  const int qps = argc > 7 ? std::stoi(argv[7]) : 500;

  if (!InitSodium().ok()) return 1;
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);

  testing::TempDir dir;
  const int port = testing::FreeLoopbackPort();
  testing::WriteTestFile(dir.File("c.toml"),
                         "listen = \"127.0.0.1:" + std::to_string(port) + "\"\nlog_level = \"warn\"\n" +
                             "report_interval = " + std::to_string(interval_s) +
                             "\n[limits]\nmax_connections = 100000\nmax_connections_per_address = 100000\n" +
                             "max_unauthenticated_connections = 100000\nmax_peers_per_address = 100000\n" +
                             "max_entries_per_address = 1000000000\n");
  testing::ChildProcess coordinator({bin, "--config", dir.File("c.toml")}, dir.File("log"));
  std::this_thread::sleep_for(300ms);
  const testing::ProcSample empty = testing::SampleProcess(coordinator.pid());

  auto loop_or = Loop::Create();
  if (!loop_or.ok()) {
    std::fprintf(stderr, "%s\n", loop_or.status().message().c_str());
    return 1;
  }
  Loop& loop = **loop_or;
  const auto addr = *SocketAddress::Parse("127.0.0.1:" + std::to_string(port));

  std::mt19937 rng(42);
  int connected = 0;
  bool stopping = false;
  std::vector<SimPeer*> sims;
  for (std::uint32_t p = 0; p < peers; ++p) {
    auto sim = std::make_unique<SimPeer>();
    sim->id = p;
    sim->connected = &connected;
    sim->stopping = &stopping;
    sim->report.listen = proto::Endpoint{0, {}, static_cast<std::uint16_t>(20000 + p % 40000)};
    std::vector<std::uint32_t> mine;
    while (mine.size() < files) {
      const std::uint32_t f = static_cast<std::uint32_t>(rng() % catalog);
      if (std::find(mine.begin(), mine.end(), f) == mine.end()) mine.push_back(f);
    }
    for (std::uint32_t f : mine) sim->report.files.push_back({CatalogFile(f), proto::FileState::kWhole});
    sims.push_back(sim.get());
    Session::Connect(loop, addr, 10s, OptionsFor(proto::Role::kPeer), std::move(sim));
  }
  // Queries run on their own thread and loop, so their latency is the
  // coordinator's and the kernel's, not time spent queued behind the
  // simulated peers' reports in the generator.
  std::vector<double> latencies;
  std::uint64_t empty_answers = 0, queries_sent = 0;
  std::atomic<bool> queries_stop{false};
  std::thread query_thread([&] {
    auto qloop_or = Loop::Create();
    if (!qloop_or.ok()) return;
    Loop& qloop = **qloop_or;
    std::vector<Querier*> queriers;
    for (int q = 0; q < 8; ++q) {
      auto qr = std::make_unique<Querier>();
      qr->latencies_us = &latencies;
      qr->empty_answers = &empty_answers;
      queriers.push_back(qr.get());
      Session::Connect(qloop, addr, 10s, OptionsFor(proto::Role::kTool), std::move(qr));
    }
    std::mt19937 qrng(7);
    std::uint32_t request_id = 0;
    const auto qstart = std::chrono::steady_clock::now();
    qloop.AddPeriodic(1ms, [&] {
      if (queries_stop) {
        qloop.Stop();
        return;
      }
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - qstart).count();
      // Start once the first round of reports has filled the table.
      const double since = t - (interval_s + 1);
      if (since <= 0) return;
      for (const std::uint64_t due = static_cast<std::uint64_t>(since * qps); queries_sent < due; ++queries_sent) {
        Querier* q = queriers[queries_sent % queriers.size()];
        if (q->session == nullptr) continue;
        q->pending[++request_id] = std::chrono::steady_clock::now();
        q->session->Send(proto::Query{request_id, CatalogFile(static_cast<std::uint32_t>(qrng() % catalog))});
      }
    });
    (void)qloop.Run();
  });

  // Peer p reports at offset p * interval / peers within each interval.
  const auto start = std::chrono::steady_clock::now();
  // Reports go out every millisecond, about one at a time: ten thousand
  // independent peers are not synchronised to a coarser clock.
  const auto tick = 1ms;
  std::uint64_t next_report = 0;  // global report sequence number
  std::uint64_t reports_sent = 0, changed_reports = 0;
  double measured_from = 0;
  testing::ProcSample at_start{}, at_end{};
  testing::ProcSample self_start{}, self_end{};
  std::uint64_t reports_at_start = 0;
  loop.AddPeriodic(tick, [&] {
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::uint64_t due = static_cast<std::uint64_t>(t * peers / interval_s);
    for (; next_report < due; ++next_report) {
      SimPeer* sim = sims[next_report % peers];
      if (sim->session == nullptr) continue;
      if (rng() % 10 == 0) {  // about one report in ten changes a file
        sim->report.files[rng() % files].file = CatalogFile(static_cast<std::uint32_t>(rng() % catalog));
        ++changed_reports;
      }
      sim->session->Send(sim->report);
      ++reports_sent;
    }
    // Measure after the first full round, when every peer has reported.
    if (measured_from == 0 && t >= interval_s + 2) {
      measured_from = t;
      at_start = testing::SampleProcess(coordinator.pid());
      self_start = testing::SampleProcess(getpid());
      reports_at_start = reports_sent;
    }
    if (t >= seconds) {
      at_end = testing::SampleProcess(coordinator.pid());
      self_end = testing::SampleProcess(getpid());
      stopping = true;
      loop.Stop();
    }
  });
  Status run = loop.Run();
  queries_stop = true;
  query_thread.join();
  const double window = seconds - measured_from;
  const double cpu_share = (at_end.cpu_seconds - at_start.cpu_seconds) / window;
  const double reports_per_s = static_cast<double>(reports_sent - reports_at_start) / window;
  const std::uint64_t entries = static_cast<std::uint64_t>(peers) * files;

  std::printf("# coordinator load: %u peers x %u files (catalog %u), reports every %d s, %d queries/s, %d s\n",
              peers, files, catalog, interval_s, qps, seconds);
  std::printf("connected peers: %d of %u; reports sent: %llu (%llu changed a file)\n", connected, peers,
              static_cast<unsigned long long>(reports_sent), static_cast<unsigned long long>(changed_reports));
  std::printf("coordinator CPU: %.3f cores over the last %.0f s (target < 0.5); load generator: %.3f cores\n",
              cpu_share, window, (self_end.cpu_seconds - self_start.cpu_seconds) / window);
  std::printf("reports processed: %.0f/s = %.0f entries/s\n", reports_per_s, reports_per_s * files);
  std::printf("coordinator RSS: %.1f MiB empty, %.1f MiB loaded: %.1f bytes per entry over %llu entries "
              "(target <= 128)\n",
              static_cast<double>(empty.rss_bytes) / 1048576, static_cast<double>(at_end.rss_bytes) / 1048576,
              static_cast<double>(at_end.rss_bytes - empty.rss_bytes) / static_cast<double>(entries),
              static_cast<unsigned long long>(entries));
  std::printf("queries answered: %zu (%llu empty); latency p50 %.0f us, p99 %.0f us, max %.0f us (target p99 < 1 ms)\n",
              latencies.size(), static_cast<unsigned long long>(empty_answers), Percentile(latencies, 0.5),
              Percentile(latencies, 0.99), Percentile(latencies, 1.0));
  const auto stop_start = std::chrono::steady_clock::now();
  coordinator.Signal(SIGTERM);
  const auto code = coordinator.Wait(30s);
  std::printf("coordinator stopped in %.2f s after SIGTERM, with %d connections open\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - stop_start).count(), connected);
  if (!run.ok() || !code || *code != 0 || connected != static_cast<int>(peers)) {
    std::fprintf(stderr, "benchmark failed (loop: %s, coordinator exit %d)\n", run.message().c_str(), code ? *code : -1);
    return 1;
  }
  return 0;
}
