#include "peer/coordinator_link.h"

#include <sodium.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>

#include "common/backoff.h"
#include "common/auth/handshake.h"
#include "common/net/connection.h"
#include "common/proto/codec.h"
#include "common/proto/frame_buffer.h"
#include "peer/report_schedule.h"

namespace lanswarm::peer {

namespace {
constexpr auto kConnectTimeout = std::chrono::seconds(5);
constexpr auto kBackoffBase = std::chrono::seconds(1);
constexpr auto kBackoffCap = std::chrono::seconds(30);
}  // namespace

struct CoordinatorLink::State : std::enable_shared_from_this<CoordinatorLink::State> {
  State(net::Loop& l, const net::SocketAddress& a, const proto::PeerId& id, std::shared_ptr<const auth::KeyRing> k,
        Clock::Duration i, ReportFn r)
      : loop(l), address(a), self(id), keys(std::move(k)), report(std::move(r)), backoff(kBackoffBase, kBackoffCap, randombytes_random()),
        schedule(l.clock(), i) {}

  void Connect();
  // Sends a REPORT if the schedule says one is due.
  void MaybeReport() {
    if (!ready || !schedule.Due() || conn == nullptr || conn->closing()) return;
    conn->Send(proto::EncodeFrame(report()));
    schedule.OnSent();
  }

  net::Loop& loop;
  net::SocketAddress address;
  proto::PeerId self;
  std::shared_ptr<const auth::KeyRing> keys;
  ReportFn report;
  Backoff backoff;
  ReportSchedule schedule;
  net::Connection* conn = nullptr;  // valid until its handler's OnClosed
  bool ready = false;               // the coordinator's HELLO arrived
  bool was_connected = false;
  std::string last_error;  // why the last connection ended or failed
  net::Loop::TimerId retry_timer = 0, report_timer = 0;
  bool stopped = false;
  std::uint32_t next_request = 1;
  std::map<std::uint32_t, HoldersFn> queries;  // waiting for HOLDERS
  std::vector<Bytes> unsent;                   // QUERYs made while connecting

  void FailQueries(const Status& why) {
    auto waiting = std::move(queries);
    queries.clear();
    unsent.clear();
    for (auto& [id, done] : waiting) done(why);
  }
};

class CoordinatorLink::Handler : public net::ConnectionHandler {
 public:
  Handler(std::weak_ptr<State> s, std::shared_ptr<const auth::KeyRing> keys, const proto::PeerId& self)
      : state_(std::move(s)),
        keys_(std::move(keys)),
        handshake_(*keys_, proto::MakeHello(proto::Role::kPeer, self)) {}

  void OnConnected(net::Connection& c) override { c.Send(proto::EncodeFrame(handshake_.hello())); }

  void OnData(net::Connection& c, ByteView data) override {
    auto s = state_.lock();
    if (!s) return c.Close();
    frames_.Append(data);
    proto::Message m;
    while (!c.closing()) {
      const proto::Decoded d = frames_.Next(&m);
      if (d.state == proto::DecodeState::kNeedMore) return;
      if (d.state == proto::DecodeState::kError) return c.Close(Status::Corruption(d.error));
      if (const auto* e = std::get_if<proto::Error>(&m)) return c.Close(Status::IOError("coordinator says: " + e->reason));
      if (const auto* hello = std::get_if<proto::Hello>(&m); hello != nullptr && !s->ready) {
        auto auth = handshake_.OnHello(*hello);
        if (!auth.ok()) {
          // OnClosed logs it (throttled) and keeps it for the errors of Query.
          c.Send(proto::EncodeFrame(proto::Error{auth::HandshakeErrorCode(auth.status()), auth.status().message()}));
          return c.CloseAfterSending(auth.status(), std::chrono::seconds(1));
        }
        if (auth->has_value()) c.Send(proto::EncodeFrame(**auth));
        s->ready = true;
        s->backoff.Reset();
        spdlog::info("connected to the coordinator at {}", c.peer().ToString());
        s->was_connected = true;
        s->schedule.OnConnected();
        s->MaybeReport();
        for (Bytes& q : s->unsent) c.Send(std::move(q));
        s->unsent.clear();
      }
      if (auto* h = std::get_if<proto::Holders>(&m)) {
        auto it = s->queries.find(h->request_id);
        if (it == s->queries.end()) continue;
        HoldersFn done = std::move(it->second);
        s->queries.erase(it);
        done(std::move(h->holders));
      }
    }
  }

  void OnClosed(net::Connection&, const Status& why) override {
    auto s = state_.lock();
    if (!s) return;
    s->conn = nullptr;
    s->last_error = why.ok() ? "closed" : why.message();
    const bool was_ready = s->ready;
    s->ready = false;
    s->schedule.OnDisconnected();
    s->FailQueries(Status::IOError("lost the coordinator: " + (why.ok() ? std::string("closed") : why.message())));
    if (s->stopped) return;
    const auto wait = s->backoff.Next();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait).count();
    if (was_ready) {
      spdlog::warn("lost the coordinator at {}: {}; reconnecting in {} ms", s->address.ToString(),
                   why.ok() ? "closed" : why.message(), ms);
    } else if (s->backoff.attempts() <= 1 || s->backoff.attempts() % 10 == 0) {
      // Quiet while it stays down: the first failure and every tenth.
      spdlog::warn("cannot reach the coordinator at {}: {}; retrying in {} ms", s->address.ToString(),
                   why.ok() ? "closed" : why.message(), ms);
    }
    std::weak_ptr<State> weak = s;
    s->retry_timer = s->loop.AddTimer(wait, [weak] {
      if (auto st = weak.lock()) {
        st->retry_timer = 0;
        st->Connect();
      }
    });
  }

 private:
  std::weak_ptr<State> state_;
  std::shared_ptr<const auth::KeyRing> keys_;  // outlives handshake_
  auth::ConnectorHandshake handshake_;
  proto::FrameBuffer frames_;
};

void CoordinatorLink::State::Connect() {
  if (stopped || conn != nullptr) return;
  conn = loop.Connect(address, kConnectTimeout, std::make_unique<Handler>(weak_from_this(), keys, self));
}

CoordinatorLink::CoordinatorLink(net::Loop& loop, const net::SocketAddress& coordinator, const proto::PeerId& self,
                                 std::shared_ptr<const auth::KeyRing> keys, Clock::Duration interval, ReportFn report)
    : state_(std::make_shared<State>(loop, coordinator, self, std::move(keys), interval, std::move(report))) {}

CoordinatorLink::~CoordinatorLink() {
  state_->stopped = true;
  state_->FailQueries(Status::IOError("shutting down"));
  if (state_->retry_timer) state_->loop.CancelTimer(state_->retry_timer);
  if (state_->report_timer) state_->loop.CancelTimer(state_->report_timer);
  if (state_->conn != nullptr) state_->conn->Close();
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
  // While connecting, the query waits for the HELLO; while backing off
  // after a failure, it fails at once.
  if (s.conn == nullptr || s.conn->closing()) {
    done(Status::IOError("not connected to the coordinator at " + s.address.ToString() +
                         (s.last_error.empty() ? "" : ": " + s.last_error)));
    return;
  }
  const std::uint32_t id = s.next_request++;
  s.queries.emplace(id, std::move(done));
  Bytes frame = proto::EncodeFrame(proto::Query{id, file});
  if (s.ready) {
    s.conn->Send(std::move(frame));
  } else {
    s.unsent.push_back(std::move(frame));
  }
}

}  // namespace lanswarm::peer
