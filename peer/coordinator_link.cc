#include "peer/coordinator_link.h"

#include <sodium.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>

#include "common/backoff.h"
#include "common/net/session.h"
#include "peer/report_schedule.h"

namespace lanswarm::peer {

namespace {
constexpr auto kConnectTimeout = std::chrono::seconds(5);
constexpr auto kBackoffBase = std::chrono::seconds(1);
constexpr auto kBackoffCap = std::chrono::seconds(30);
}  // namespace

struct CoordinatorLink::State : std::enable_shared_from_this<CoordinatorLink::State> {
  State(net::Loop& l, const net::SocketAddress& a, std::shared_ptr<const auth::Identity> id, std::shared_ptr<const auth::KeyRing> k,
        Clock::Duration i, ReportFn r)
      : loop(l), address(a), identity(std::move(id)), keys(std::move(k)), report(std::move(r)),
        backoff(kBackoffBase, kBackoffCap, randombytes_random()), schedule(l.clock(), i) {}

  void Connect();
  // Sends a REPORT if the schedule says one is due.
  void MaybeReport() {
    if (!ready || !schedule.Due() || session == nullptr || session->closing()) return;
    session->Send(report());
    schedule.OnSent();
  }
  void OnReady() {
    ready = true;
    backoff.Reset();
    spdlog::info("connected to the coordinator at {}", address.ToString());
    schedule.OnConnected();
    MaybeReport();
  }
  void OnHolders(const proto::Holders& h) {
    auto it = queries.find(h.request_id);
    if (it == queries.end()) return;
    HoldersFn done = std::move(it->second);
    queries.erase(it);
    done(h.holders);
  }
  void OnClosed(const Status& why);

  void FailQueries(const Status& why) {
    auto waiting = std::move(queries);
    queries.clear();
    for (auto& [id, done] : waiting) done(why);
  }

  net::Loop& loop;
  net::SocketAddress address;
  std::shared_ptr<const auth::Identity> identity;
  std::shared_ptr<const auth::KeyRing> keys;
  ReportFn report;
  Backoff backoff;
  ReportSchedule schedule;
  net::Session* session = nullptr;  // valid until its handler's OnClosed
  bool ready = false;               // the handshake is done
  std::string last_error;           // why the last connection ended or failed
  net::Loop::TimerId retry_timer = 0, report_timer = 0;
  bool stopped = false;
  std::uint32_t next_request = 1;
  std::map<std::uint32_t, HoldersFn> queries;  // waiting for HOLDERS (sent, or held until ready)
};

// The link's side of its session: everything goes to the shared State,
// which outlives any one connection.
class CoordinatorLink::Handler : public net::SessionHandler {
 public:
  explicit Handler(std::weak_ptr<State> s) : state_(std::move(s)) {}

  void OnReady(net::Session& s) override {
    if (auto st = state_.lock()) return st->OnReady();
    s.Close();
  }
  void OnMessage(net::Session& s, const proto::Message& m) override {
    auto st = state_.lock();
    if (!st) return s.Close();
    if (const auto* h = std::get_if<proto::Holders>(&m)) st->OnHolders(*h);
  }
  void OnClosed(net::Session&, const Status& why) override {
    if (auto st = state_.lock()) st->OnClosed(why);
  }

 private:
  std::weak_ptr<State> state_;
};

void CoordinatorLink::State::OnClosed(const Status& why) {
  session = nullptr;
  last_error = why.ok() ? "closed" : why.message();
  const bool was_ready = ready;
  ready = false;
  schedule.OnDisconnected();
  FailQueries(Status::IOError("lost the coordinator: " + last_error));
  if (stopped) return;
  const auto wait = backoff.Next();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait).count();
  if (was_ready) {
    spdlog::warn("lost the coordinator at {}: {}; reconnecting in {} ms", address.ToString(), last_error, ms);
  } else if (backoff.attempts() <= 1 || backoff.attempts() % 10 == 0) {
    // Quiet while it stays down: the first failure and every tenth.
    spdlog::warn("cannot reach the coordinator at {}: {}; retrying in {} ms", address.ToString(), last_error, ms);
  }
  std::weak_ptr<State> weak = shared_from_this();
  retry_timer = loop.AddTimer(wait, [weak] {
    if (auto st = weak.lock()) {
      st->retry_timer = 0;
      st->Connect();
    }
  });
}

void CoordinatorLink::State::Connect() {
  if (stopped || session != nullptr) return;
  net::SessionOptions options;
  options.keys = keys;
  options.identity = identity;
  options.hello = proto::MakeHello(proto::Role::kPeer, identity->peer_id());
  session = net::Session::Connect(loop, address, kConnectTimeout, std::move(options),
                                  std::make_unique<Handler>(weak_from_this()));
}

CoordinatorLink::CoordinatorLink(net::Loop& loop, const net::SocketAddress& coordinator, std::shared_ptr<const auth::Identity> identity,
                                 std::shared_ptr<const auth::KeyRing> keys, Clock::Duration interval, ReportFn report)
    : state_(std::make_shared<State>(loop, coordinator, std::move(identity), std::move(keys), interval, std::move(report))) {}

CoordinatorLink::~CoordinatorLink() {
  state_->stopped = true;
  state_->FailQueries(Status::IOError("shutting down"));
  if (state_->retry_timer) state_->loop.CancelTimer(state_->retry_timer);
  if (state_->report_timer) state_->loop.CancelTimer(state_->report_timer);
  if (state_->session != nullptr) state_->session->Close();
}

void CoordinatorLink::Start() {
  std::weak_ptr<State> weak = state_;
  // The schedule decides; this only looks often enough to be punctual.
  state_->report_timer = state_->loop.AddPeriodic(std::chrono::milliseconds(100), [weak] {
    if (auto s = weak.lock()) s->MaybeReport();
  });
  state_->Connect();
}

void CoordinatorLink::ReportNow() {
  state_->schedule.OnChange();
  state_->MaybeReport();
}

bool CoordinatorLink::connected() const { return state_->ready; }

void CoordinatorLink::Query(const FileId& file, HoldersFn done) {
  State& s = *state_;
  // While connecting, the query waits in the session for the handshake;
  // while backing off after a failure, it fails at once.
  if (s.session == nullptr || s.session->closing()) {
    done(Status::IOError("not connected to the coordinator at " + s.address.ToString() +
                         (s.last_error.empty() ? "" : ": " + s.last_error)));
    return;
  }
  const std::uint32_t id = s.next_request++;
  s.queries.emplace(id, std::move(done));
  s.session->Send(proto::Query{id, file});
}

}  // namespace lanswarm::peer
