// The accepting side of a daemon: one listener, the sessions it accepted,
// and the rules every server applies to them. Admission (connections in
// all and per address, refused at accept with a budgeted warning; a
// separate budget for connections still in the handshake, whose oldest
// makes room for a newcomer), the HELLO/AUTH timeout, the idle timeout
// (no bytes in or out, and the handler not busy for the client or its
// replies not moving), and the summary of warnings held back: once a
// second, from the pool's own timer.
//
// The pool's state is shared with its sessions, so whichever of pool and
// loop goes first, no session writes to freed memory when it closes.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "common/net/session.h"

namespace lanswarm::net {

struct PoolLimits {
  int warnings_per_second = 20;  // the budget of SessionPool::warnings()
  std::uint32_t max_connections = 256;
  std::uint32_t max_connections_per_address = 32;
  // Connections that have not finished the handshake: when this many are
  // open (or all max_connections are taken and some are among them), the
  // oldest of them is closed to make room, so clients that prove nothing
  // cannot hold the slots the members need.
  std::uint32_t max_unauthenticated = 64;
  Clock::Duration hello_timeout = std::chrono::seconds(5);  // HELLO and AUTH both, from accept
  Clock::Duration idle_timeout = std::chrono::seconds(300);
};

class SessionPool {
 public:
  // A handler for a client admitted from `from`; null refuses it.
  using Factory = std::function<std::unique_ptr<SessionHandler>(const SocketAddress& from)>;

  // `options` are every session's (side, keys, HELLO, limits); `loop` must
  // outlive the pool.
  SessionPool(Loop& loop, SessionOptions options, PoolLimits limits, Factory make);
  ~SessionPool();
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // Listens and starts the once-a-second check. Returns the bound address.
  Result<SocketAddress> Listen(const SocketAddress& at);

  // Enforces the timeouts and logs the warnings held back; the pool's
  // timer calls it every second (public for tests).
  void CheckTimeouts();

  // Every open session, in no order; `fn` must not close sessions.
  void ForEach(const std::function<void(Session&)>& fn) const;
  std::size_t size() const;
  std::uint64_t refused() const;
  // Connections closed, unauthenticated, to make room for newer ones.
  std::uint64_t evicted() const;
  const SessionCounters& counters() const;
  // The budget for warnings an outsider can cause, shared with the handlers.
  LogLimiter& warnings();

 private:
  struct State;
  Loop& loop_;
  std::shared_ptr<State> state_;
  Loop::TimerId timer_ = 0;
};

}  // namespace lanswarm::net
