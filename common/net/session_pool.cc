#include "common/net/session_pool.h"

#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace lanswarm::net {

struct SessionPool::State {
  State(SessionOptions o, PoolLimits l, Factory f)
      : options(std::move(o)), limits(l), make(std::move(f)), warnings(l.warnings_per_second) {}

  // Whether a client from `from` may come in; a refusal is counted and,
  // within the warning budget, logged. May close the oldest unauthenticated
  // session to make room.
  bool Admit(const SocketAddress& from, const std::string& key, Clock::TimePoint now) {
    const auto per = per_address.find(key);
    const std::uint32_t from_here = per == per_address.end() ? 0 : per->second;
    if (from_here >= limits.max_connections_per_address) {
      return Refuse(from, now, fmt::format("{} from this address, the limit per address", from_here));
    }
    // Slots held by sessions already being closed are as good as free.
    const std::size_t open = sessions.size() - evicting.size();
    if (pending.size() >= limits.max_unauthenticated || open >= limits.max_connections) {
      if (pending.empty()) return Refuse(from, now, fmt::format("{} connections open, the limit", open));
      EvictOldestPending();
    }
    return true;
  }

  bool Refuse(const SocketAddress& from, Clock::TimePoint now, const std::string& why) {
    ++refused;
    if (warnings.Allow(now)) {
      spdlog::warn("{}: connection refused: {} ({} refused since start)", from.ToString(), why, refused);
    }
    return false;
  }

  void EvictOldestPending() {
    Session* oldest = nullptr;
    for (Session* s : pending) {
      if (oldest == nullptr || s->opened() < oldest->opened()) oldest = s;
    }
    if (oldest == nullptr) return;
    ++evicted;
    pending.erase(oldest);
    evicting.insert(oldest);
    oldest->Close(Status::IOError("closed unauthenticated to make room for a newer connection"));
  }

  void Forget(Session* s, const std::string& key) {
    sessions.erase(s);
    pending.erase(s);
    evicting.erase(s);
    if (auto it = per_address.find(key); it != per_address.end() && --it->second == 0) per_address.erase(it);
  }

  SessionOptions options;
  PoolLimits limits;
  Factory make;
  LogLimiter warnings;
  SessionCounters counters;
  std::unordered_set<Session*> sessions;
  std::unordered_set<Session*> pending;   // still in the handshake
  std::unordered_set<Session*> evicting;  // closed to make room; not yet gone
  std::unordered_map<std::string, std::uint32_t> per_address;  // by SocketAddress::HostKey
  std::uint64_t refused = 0;
  std::uint64_t evicted = 0;
};

SessionPool::SessionPool(Loop& loop, SessionOptions options, PoolLimits limits, Factory make)
    : loop_(loop), state_(std::make_shared<State>(std::move(options), limits, std::move(make))) {
  state_->options.side = SessionOptions::Side::kAcceptor;
  state_->options.warnings = &state_->warnings;
  state_->options.counters = &state_->counters;
}

SessionPool::~SessionPool() {
  if (timer_) loop_.CancelTimer(timer_);
}

Result<SocketAddress> SessionPool::Listen(const SocketAddress& at) {
  std::weak_ptr<State> weak = state_;
  Loop* loop = &loop_;
  auto bound = loop_.Listen(at, [weak, loop](const SocketAddress& from) -> std::unique_ptr<ConnectionHandler> {
    auto st = weak.lock();
    if (!st) return nullptr;
    const std::string key = from.HostKey();
    if (!st->Admit(from, key, loop->clock().now())) return nullptr;
    auto handler = st->make(from);
    if (!handler) return nullptr;
    SessionOptions options = st->options;
    options.owner = st;
    options.on_ready = [weak](Session& s) {
      if (auto alive = weak.lock()) alive->pending.erase(&s);
    };
    options.on_closed = [weak, key](Session& s) {
      if (auto alive = weak.lock()) alive->Forget(&s, key);
    };
    auto session = std::make_unique<Session>(std::move(options), std::move(handler));
    st->sessions.insert(session.get());
    st->pending.insert(session.get());
    ++st->per_address[key];
    return session;
  });
  if (!bound.ok()) return bound.status();
  if (timer_ == 0) timer_ = loop_.AddPeriodic(std::chrono::seconds(1), [this] { CheckTimeouts(); });
  return bound;
}

void SessionPool::CheckTimeouts() {
  State& st = *state_;
  const Clock::TimePoint now = loop_.clock().now();
  // A check may close a session, which leaves `sessions` from its OnClosed
  // only later (closes complete between loop passes); copy anyway.
  const std::vector<Session*> all(st.sessions.begin(), st.sessions.end());
  for (Session* s : all) {
    if (s->closing()) continue;
    if (!s->ready() && now - s->opened() >= st.limits.hello_timeout) {
      s->Fail(proto::ErrorCode::kProtocol,
              fmt::format("no {} within {} s", s->got_hello() ? "AUTH" : "HELLO",
                          std::chrono::duration_cast<std::chrono::seconds>(st.limits.hello_timeout).count()));
    } else if (now - s->last_activity() >= st.limits.idle_timeout &&
               (!s->handler().busy() || s->unsent_bytes() > 0)) {
      // Busy for the client (requests queued) keeps a session, unless what
      // it owes the client is not moving: then the client is not reading.
      spdlog::debug("{}: idle for {} s; closing", s->peer().ToString(),
                    std::chrono::duration_cast<std::chrono::seconds>(st.limits.idle_timeout).count());
      s->Close(Status::IOError("idle"));
    }
  }
  if (const std::uint64_t held = st.warnings.TakeSuppressed(); held > 0) {
    spdlog::warn("{} more warnings about misbehaving clients suppressed", held);
  }
}

void SessionPool::ForEach(const std::function<void(Session&)>& fn) const {
  for (Session* s : state_->sessions) fn(*s);
}

std::size_t SessionPool::size() const { return state_->sessions.size(); }
std::uint64_t SessionPool::refused() const { return state_->refused; }
std::uint64_t SessionPool::evicted() const { return state_->evicted; }
const SessionCounters& SessionPool::counters() const { return state_->counters; }
LogLimiter& SessionPool::warnings() { return state_->warnings; }

}  // namespace lanswarm::net
