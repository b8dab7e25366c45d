#include "coordinator/server.h"

#include <deque>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/auth/handshake.h"
#include "common/net/connection.h"
#include "common/process_stats.h"
#include "common/proto/codec.h"
#include "common/proto/frame_buffer.h"
#include "coordinator/availability_table.h"

namespace lanswarm::coordinator {

namespace {

using namespace std::chrono_literals;
constexpr auto kCronPeriod = 100ms;
// Peers dropped per cron tick at most: 10,000 a second, in small slices.
constexpr std::size_t kSweepBudget = 1000;
// Warnings about misbehaving clients logged per second at most.
constexpr int kWarningsPerSecond = 20;
// How long an ERROR reply may take to leave before the connection is cut.
constexpr auto kErrorLinger = 1s;
// The window over which the report rate is averaged.
constexpr std::size_t kRateWindowSeconds = 10;

}  // namespace

struct Server::Core {
  Core(const Clock& clock, const Config& c, const std::array<std::uint8_t, 16>& key, const proto::PeerId& id,
       auth::KeyRing k)
      : clock(clock), config(c), table(clock, c.expiry(), c.table, key), self(id), keys(std::move(k)),
        started(clock.now()) {}

  std::vector<proto::StatEntry> Stats() const;

  // Logs a warning unless this second's budget is spent; the cron reports
  // how many were held back.
  template <typename... Args>
  void Warn(fmt::format_string<Args...> f, Args&&... args) {
    if (warnings_left > 0) {
      --warnings_left;
      spdlog::warn(f, std::forward<Args>(args)...);
    } else {
      ++warnings_suppressed;
    }
  }

  const Clock& clock;
  Config config;
  AvailabilityTable table;
  proto::PeerId self;
  auth::KeyRing keys;
  Clock::TimePoint started;
  std::unordered_set<Session*> sessions;
  std::unordered_map<std::string, std::uint32_t> per_address;
  std::deque<std::pair<Clock::TimePoint, std::uint64_t>> report_samples;  // (when, reports so far)
  std::uint64_t refused_connections = 0;
  std::uint64_t protocol_errors = 0;
  std::uint64_t auth_failures = 0;
  int warnings_left = kWarningsPerSecond;
  std::uint64_t warnings_suppressed = 0;
  int ticks = 0;
};

// One connection: a peer reporting and asking, or a tool asking.
class Server::Session : public net::ConnectionHandler {
 public:
  Session(std::shared_ptr<Core> core, std::string address_key, Clock::TimePoint now)
      : core_(std::move(core)),
        address_key_(std::move(address_key)),
        frames_(core_->config.max_message_bytes),
        handshake_(core_->keys, proto::MakeHello(proto::Role::kCoordinator, core_->self)),
        opened_(now),
        last_activity_(now) {
    core_->sessions.insert(this);
    ++core_->per_address[address_key_];
  }

  void OnConnected(net::Connection& c) override { conn_ = &c; }

  void OnData(net::Connection& c, ByteView data) override {
    last_activity_ = c.loop().clock().now();
    frames_.Append(data);
    proto::Message m;
    while (!c.closing()) {
      const proto::Decoded d = frames_.Next(&m);
      if (d.state == proto::DecodeState::kNeedMore) return;
      if (d.state == proto::DecodeState::kError) return Fail(c, proto::ErrorCode::kProtocol, d.error);
      Handle(c, m);
    }
  }

  void OnClosed(net::Connection& c, const Status& why) override {
    spdlog::debug("{}: closed: {}", c.peer().ToString(), why.ok() ? "by us" : why.message());
    core_->sessions.erase(this);
    auto it = core_->per_address.find(address_key_);
    if (it != core_->per_address.end() && --it->second == 0) core_->per_address.erase(it);
    conn_ = nullptr;
  }

  // Called by the cron once a second: enforces the HELLO and idle timeouts.
  void Check(Clock::TimePoint now) {
    if (conn_ == nullptr || conn_->closing()) return;
    if (!handshake_.authenticated() && now - opened_ >= core_->config.hello_timeout) {
      Fail(*conn_, proto::ErrorCode::kProtocol,
           fmt::format("no {} within {} s", handshake_.got_hello() ? "AUTH" : "HELLO",
                       core_->config.hello_timeout.count()));
    } else if (now - last_activity_ >= core_->config.idle_timeout()) {
      conn_->Close(Status::IOError("idle"));
    }
  }

 private:
  void Handle(net::Connection& c, const proto::Message& m) {
    if (Status s = handshake_.Admit(m); !s.ok()) return FailHandshake(c, s);
    if (const auto* hello = std::get_if<proto::Hello>(&m)) return OnHello(c, *hello);
    if (const auto* a = std::get_if<proto::Auth>(&m)) {
      if (Status s = handshake_.OnAuth(*a); !s.ok()) return FailHandshake(c, s);
      return;
    }
    std::visit(
        [&](const auto& msg) {
          using T = std::decay_t<decltype(msg)>;
          if constexpr (std::is_same_v<T, proto::Report>) {
            OnReport(c, msg);
          } else if constexpr (std::is_same_v<T, proto::Query>) {
            c.Send(proto::EncodeFrame(proto::Holders{msg.request_id, msg.file, core_->table.Query(msg.file, peer_id_)}));
          } else if constexpr (std::is_same_v<T, proto::StatsRequest>) {
            c.Send(proto::EncodeFrame(proto::Stats{msg.request_id, core_->Stats()}));
          } else if constexpr (std::is_same_v<T, proto::Error>) {
            // A client that gives up on our proof failed authentication too.
            if (!handshake_.authenticated() && msg.code == proto::ErrorCode::kAuth) ++core_->auth_failures;
            core_->Warn("{}: sent ERROR: {}", c.peer().ToString(), msg.reason);
            c.Close(Status::IOError("peer sent ERROR: " + msg.reason));
          } else {
            Fail(c, proto::ErrorCode::kProtocol,
                 fmt::format("unexpected {} on a coordinator connection", proto::MessageTypeName(proto::TypeOf(m))));
          }
        },
        m);
  }

  void OnHello(net::Connection& c, const proto::Hello& hello) {
    if (hello.role == proto::Role::kCoordinator) {
      return Fail(c, proto::ErrorCode::kProtocol, "a coordinator does not connect to a coordinator");
    }
    auto reply = handshake_.OnHello(hello);
    if (!reply.ok()) return FailHandshake(c, reply.status());
    peer_id_ = hello.peer_id;
    role_ = hello.role;
    c.Send(proto::EncodeFrame(*reply));
  }

  void FailHandshake(net::Connection& c, const Status& s) {
    const proto::ErrorCode code = auth::HandshakeErrorCode(s);
    if (code == proto::ErrorCode::kAuth) ++core_->auth_failures;
    Fail(c, code, s.message());
  }

  void OnReport(net::Connection& c, const proto::Report& r) {
    if (role_ != proto::Role::kPeer) return Fail(c, proto::ErrorCode::kProtocol, "only peers send REPORT");
    proto::Endpoint where = r.listen;
    if (where.port == 0) return Fail(c, proto::ErrorCode::kProtocol, "REPORT without a listening port");
    if (where.family == 0) {
      // "Reach me where this connection comes from, at my port."
      where = c.peer().ToEndpoint();
      where.port = r.listen.port;
    }
    Status s = core_->table.Report(peer_id_, where, r.files);
    if (!s.ok()) Fail(c, proto::ErrorCode::kLimit, s.message());
  }

  // Says why, then hangs up; only this connection is affected.
  void Fail(net::Connection& c, proto::ErrorCode code, const std::string& reason) {
    ++core_->protocol_errors;
    core_->Warn("{}: {}; closing the connection", c.peer().ToString(), reason);
    c.Send(proto::EncodeFrame(proto::Error{code, reason}));
    c.CloseAfterSending(Status::InvalidArgument(reason), kErrorLinger);
  }

  std::shared_ptr<Core> core_;
  std::string address_key_;
  proto::FrameBuffer frames_;
  net::Connection* conn_ = nullptr;
  auth::AcceptorHandshake handshake_;
  proto::PeerId peer_id_{};
  proto::Role role_ = proto::Role::kTool;
  Clock::TimePoint opened_, last_activity_;
};

Server::Server(net::Loop& loop, const Config& config, const std::array<std::uint8_t, 16>& hash_key,
               const proto::PeerId& self, auth::KeyRing keys)
    : loop_(loop), core_(std::make_shared<Core>(loop.clock(), config, hash_key, self, std::move(keys))) {}

Server::~Server() {
  if (cron_) loop_.CancelTimer(cron_);
  loop_.StopListening();
}

Result<net::SocketAddress> Server::Start(const net::SocketAddress& listen) {
  std::weak_ptr<Core> weak = core_;
  auto bound = loop_.Listen(listen, [weak](const net::SocketAddress& peer) -> std::unique_ptr<net::ConnectionHandler> {
    auto core = weak.lock();
    if (!core) return nullptr;
    const std::string key = peer.HostKey();
    const auto per = core->per_address.find(key);
    if (core->sessions.size() >= core->config.max_connections ||
        (per != core->per_address.end() && per->second >= core->config.max_connections_per_address)) {
      ++core->refused_connections;
      core->Warn("{}: refused: connection limit reached", peer.ToString());
      return nullptr;
    }
    return std::make_unique<Session>(core, key, core->clock.now());
  });
  if (!bound.ok()) return bound.status();

  cron_ = loop_.AddPeriodic(kCronPeriod, [this] {
    Core& core = *core_;
    core.table.Sweep(kSweepBudget);
    if (++core.ticks % 10 != 0) return;  // the rest runs once a second
    const auto now = loop_.clock().now();
    for (Session* s : core.sessions) s->Check(now);
    core.report_samples.emplace_back(now, core.table.stats().reports);
    while (core.report_samples.size() > kRateWindowSeconds + 1) core.report_samples.pop_front();
    if (core.warnings_suppressed > 0) {
      spdlog::warn("{} more warnings about misbehaving clients suppressed", core.warnings_suppressed);
      core.warnings_suppressed = 0;
    }
    core.warnings_left = kWarningsPerSecond;
  });
  return bound;
}

std::vector<proto::StatEntry> Server::Stats() const { return core_->Stats(); }

std::vector<proto::StatEntry> Server::Core::Stats() const {
  const Core& core = *this;
  const TableStats t = core.table.stats();
  const auto now = clock.now();
  std::uint64_t rate_milli = 0;  // reports per second x 1000
  if (core.report_samples.size() >= 2) {
    const auto& [t0, r0] = core.report_samples.front();
    const auto& [t1, r1] = core.report_samples.back();
    const double secs = std::chrono::duration<double>(t1 - t0).count();
    if (secs > 0) rate_milli = static_cast<std::uint64_t>(1000.0 * static_cast<double>(r1 - r0) / secs);
  }
  return {
      {"peers", t.peers},
      {"files", t.files},
      {"entries", t.entries},
      {"reports_total", t.reports},
      {"reports_per_second_milli", rate_milli},
      {"queries_total", t.queries},
      {"expired_peers_total", t.expired_peers},
      {"connections", core.sessions.size()},
      {"refused_connections_total", core.refused_connections},
      {"protocol_errors_total", core.protocol_errors},
      {"auth_failures_total", core.auth_failures},
      {"rss_bytes", CurrentRssBytes()},
      {"uptime_seconds", static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(now - core.started).count())},
      {"report_interval_seconds", static_cast<std::uint64_t>(core.config.report_interval.count())},
      {"expiry_seconds", static_cast<std::uint64_t>(core.config.expiry().count())},
  };
}

}  // namespace lanswarm::coordinator
