// The peer's one connection to the coordinator: HELLO, then a REPORT of
// everything it shares right away and every report interval. When the
// coordinator is unreachable or goes away, it reconnects with jittered
// exponential backoff (1 s up to 30 s) while the daemon keeps serving.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "common/auth/identity.h"
#include "common/auth/key_ring.h"
#include "common/net/loop.h"
#include "common/proto/messages.h"

namespace lanswarm::peer {

class CoordinatorLink {
 public:
  using ReportFn = std::function<proto::Report()>;
  // `loop` must outlive this. The link proves `identity` (the coordinator
  // files its reports under that id); with keys, it proves the cluster key
  // and requires the coordinator to prove it too.
  CoordinatorLink(net::Loop& loop, const net::SocketAddress& coordinator, std::shared_ptr<const auth::Identity> identity,
                  std::shared_ptr<const auth::KeyRing> keys, Clock::Duration interval, ReportFn report);
  ~CoordinatorLink();
  CoordinatorLink(const CoordinatorLink&) = delete;
  CoordinatorLink& operator=(const CoordinatorLink&) = delete;

  void Start();
  // Sends a report now (after share or unshare) if connected.
  void ReportNow();
  bool connected() const;

  using HoldersFn = std::function<void(Result<std::vector<proto::Holder>>)>;
  // Asks the coordinator who holds `file`. `done` runs once: with the
  // holders, or with an error at once when not connected, or when the
  // connection drops before the answer.
  void Query(const FileId& file, HoldersFn done);

 private:
  struct State;
  class Handler;
  std::shared_ptr<State> state_;
};

}  // namespace lanswarm::peer
