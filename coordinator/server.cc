#include "coordinator/server.h"

#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/net/session_pool.h"
#include "common/process_stats.h"
#include "common/rate_window.h"
#include "coordinator/advertised_address.h"
#include "coordinator/availability_table.h"

namespace lanswarm::coordinator {

namespace {

using namespace std::chrono_literals;
constexpr auto kCronPeriod = 100ms;
// Peers dropped per cron tick at most: 10,000 a second, in small slices.
constexpr std::size_t kSweepBudget = 1000;
// The window over which the report rate is averaged.
constexpr auto kRateWindow = 10s;

}  // namespace

struct Server::Core {
  Core(const Clock& clock, const Config& c, const std::array<std::uint8_t, 16>& key)
      : clock(clock), config(c), table(clock, c.expiry(), c.table, key), started(clock.now()) {}

  std::vector<proto::StatEntry> Stats() const;

  const Clock& clock;
  Config config;
  AvailabilityTable table;
  Clock::TimePoint started;
  RateWindow report_rate{kRateWindow};  // of the reports received so far
  net::SessionPool* pool = nullptr;     // null once the server is gone
  int ticks = 0;
};

// One authenticated connection: a peer reporting and asking, or a tool asking.
class Server::Session : public net::SessionHandler {
 public:
  explicit Session(std::shared_ptr<Core> core) : core_(std::move(core)) {}

  Status CheckHello(net::Session&, const proto::Hello& hello) override {
    if (hello.role == proto::Role::kCoordinator) {
      return Status::InvalidArgument("a coordinator does not connect to a coordinator");
    }
    return Status::Ok();
  }

  void OnMessage(net::Session& s, const proto::Message& m) override {
    if (const auto* r = std::get_if<proto::Report>(&m)) return OnReport(s, *r);
    if (const auto* q = std::get_if<proto::Query>(&m)) {
      return s.Send(proto::Holders{q->request_id, q->file, core_->table.Query(q->file, s.theirs().peer_id)});
    }
    if (const auto* st = std::get_if<proto::StatsRequest>(&m)) return s.Send(proto::Stats{st->request_id, core_->Stats()});
    s.Fail(proto::ErrorCode::kProtocol,
           fmt::format("unexpected {} on a coordinator connection", proto::MessageTypeName(proto::TypeOf(m))));
  }

  void OnClosed(net::Session& s, const Status& why) override {
    spdlog::debug("{}: closed: {}", s.peer().ToString(), why.ok() ? "by us" : why.message());
  }

 private:
  void OnReport(net::Session& s, const proto::Report& r) {
    if (s.theirs().role != proto::Role::kPeer) return s.Fail(proto::ErrorCode::kProtocol, "only peers send REPORT");
    auto where = CheckAdvertised(r.listen, s.peer().ToEndpoint(), core_->config.advertise);
    if (!where.ok()) return s.Fail(proto::ErrorCode::kProtocol, where.status().message());
    // Under the id the session proved, and counted against the address the
    // connection comes from (not the one it advertises).
    Status st = core_->table.Report(s.theirs().peer_id, *where, r.files, s.peer().ToEndpoint(), r.upload_bytes_per_second);
    if (!st.ok()) s.Fail(proto::ErrorCode::kLimit, st.message());
  }

  std::shared_ptr<Core> core_;
};

Server::Server(net::Loop& loop, const Config& config, const std::array<std::uint8_t, 16>& hash_key,
               auth::KeyRing keys)
    : loop_(loop), core_(std::make_shared<Core>(loop.clock(), config, hash_key)) {
  net::SessionOptions options;
  options.keys = std::make_shared<const auth::KeyRing>(std::move(keys));
  options.identity = std::make_shared<const auth::Identity>(auth::Identity::Ephemeral());
  options.hello.role = proto::Role::kCoordinator;
  options.max_payload = config.max_message_bytes;
  const net::PoolLimits limits{.max_connections = config.max_connections,
                               .max_connections_per_address = config.max_connections_per_address,
                               .max_unauthenticated = config.max_unauthenticated_connections,
                               .hello_timeout = config.hello_timeout,
                               .idle_timeout = config.idle_timeout()};
  std::weak_ptr<Core> weak = core_;
  pool_ = std::make_unique<net::SessionPool>(loop, std::move(options), limits,
                                             [weak](const net::SocketAddress&) -> std::unique_ptr<net::SessionHandler> {
                                               auto core = weak.lock();
                                               if (!core) return nullptr;
                                               return std::make_unique<Session>(core);
                                             });
  core_->pool = pool_.get();
}

Server::~Server() {
  if (cron_) loop_.CancelTimer(cron_);
  core_->pool = nullptr;
  loop_.StopListening();
}

Result<net::SocketAddress> Server::Start(const net::SocketAddress& listen) {
  auto bound = pool_->Listen(listen);
  if (!bound.ok()) return bound.status();
  cron_ = loop_.AddPeriodic(kCronPeriod, [this] {
    Core& core = *core_;
    core.table.Sweep(kSweepBudget);
    if (++core.ticks % 10 == 0) core.report_rate.Add(loop_.clock().now(), core.table.stats().reports);
  });
  return bound;
}

std::vector<proto::StatEntry> Server::Stats() const { return core_->Stats(); }

std::vector<proto::StatEntry> Server::Core::Stats() const {
  const TableStats t = table.stats();
  const net::SessionCounters none;
  const net::SessionCounters& sessions = pool != nullptr ? pool->counters() : none;
  return {
      {"peers", t.peers},
      {"files", t.files},
      {"entries", t.entries},
      {"reports_total", t.reports},
      {"reports_per_second_milli", static_cast<std::uint64_t>(1000.0 * report_rate.PerSecond())},
      {"queries_total", t.queries},
      {"expired_peers_total", t.expired_peers},
      {"connections", pool != nullptr ? pool->size() : 0},
      {"refused_connections_total", pool != nullptr ? pool->refused() : 0},
      {"evicted_connections_total", pool != nullptr ? pool->evicted() : 0},
      {"protocol_errors_total", sessions.protocol_errors},
      {"auth_failures_total", sessions.auth_failures},
      {"rss_bytes", CurrentRssBytes()},
      {"uptime_seconds", static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(clock.now() - started).count())},
      {"report_interval_seconds", static_cast<std::uint64_t>(config.report_interval.count())},
      {"expiry_seconds", static_cast<std::uint64_t>(config.expiry().count())},
  };
}

}  // namespace lanswarm::coordinator
