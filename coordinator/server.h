// The coordinator's network side: authenticated sessions (a SessionPool,
// common/net/session_pool.h: admission, HELLO and idle timeouts) that answer
// from the AvailabilityTable, and one periodic "cron" (as in redis) for the
// expiry sweep and the report rate. The coordinator never contacts a peer.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "common/auth/key_ring.h"
#include "common/net/loop.h"
#include "common/net/session_pool.h"
#include "common/proto/messages.h"
#include "coordinator/config.h"

namespace lanswarm::coordinator {

class Server {
 public:
  // `loop` must outlive the Server. `hash_key` keys the table's hashes and
  // should be random; the coordinator proves an ephemeral identity, made
  // here. Every client proves its own (common/auth/handshake.h), and a
  // REPORT is filed under the id its sender proved. With a non-empty
  // `keys`, only clients that prove a key of the ring are answered.
  Server(net::Loop& loop, const Config& config, const std::array<std::uint8_t, 16>& hash_key,
         auth::KeyRing keys = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Listens and starts the cron. Returns the bound address.
  Result<net::SocketAddress> Start(const net::SocketAddress& listen);

  // What STATS answers: peers, files, entries, rates, connections, memory.
  std::vector<proto::StatEntry> Stats() const;

 private:
  struct Core;
  class Session;

  net::Loop& loop_;
  std::unique_ptr<net::SessionPool> pool_;
  // Shared with every session, so whichever of Server and Loop goes first,
  // no session outlives the state it refers to.
  std::shared_ptr<Core> core_;
  net::Loop::TimerId cron_ = 0;
};

}  // namespace lanswarm::coordinator
