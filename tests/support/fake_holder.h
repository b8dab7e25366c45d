// A holder that lies, for the CLI tests of `peer get` against hostile
// holders: it reports itself to the coordinator as holding one file whole
// (every half second: the coordinator drops a silent peer after 3 s),
// does the handshake (no cluster key), and then misbehaves in one of the
// ways a getter must survive, as tests/support/lying_holder.h says (the
// stall_peer fault tool lies the same way). It proves the id it reports
// under (ScriptedClient::IdentityOf), as a peer does. Plain blocking
// sockets in one thread of the test process; connections are served one
// after another (a getter keeps at most one connection to a holder).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "common/auth/handshake.h"
#include "fileinfo/fileinfo.h"
#include "tests/support/lying_holder.h"
#include "tests/support/scripted_client.h"

namespace lanswarm::testing {

class FakeHolder {
 public:
  using Behaviour = LyingHolder::Behaviour;
  using Payload = LyingHolder::Payload;

  // Listens on a free loopback port, reports `info`'s file whole to the
  // coordinator at `coordinator_port` under ScriptedClient::IdOf(id), and
  // serves until destroyed.
  FakeHolder(const FileInfo& info, int coordinator_port, Behaviour behaviour = Behaviour::kGarbage,
             std::uint8_t id = 99);
  // Behaviour::kGarbage, sending what `payload` makes (random bytes when null).
  FakeHolder(const FileInfo& info, int coordinator_port, Payload payload, std::uint8_t id = 99);
  FakeHolder(const FakeHolder&) = delete;
  FakeHolder& operator=(const FakeHolder&) = delete;
  ~FakeHolder();

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_; }        // REQUESTs received, over all connections
  int connections() const { return connections_; }  // connections accepted

 private:
  // Both of the above; the serving thread starts last.
  FakeHolder(const FileInfo& info, int coordinator_port, Behaviour behaviour, Payload payload, std::uint8_t id);
  void Report();
  void ReportIfDue();
  void Loop();
  void Serve(int fd);
  // What to send for one message from the getter; false to close.
  bool Answer(int fd, LyingHolder& lie, const proto::Message& m);
  bool SendAll(int fd, const void* data, std::size_t n);

  FileInfo info_;
  Behaviour behaviour_;
  Payload payload_;
  std::uint8_t id_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::unique_ptr<ScriptedClient> coordinator_;
  std::chrono::steady_clock::time_point next_report_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0}, connections_{0};
  auth::AcceptorHandshake* handshake_ = nullptr;  // the connection's, while Serve runs
  std::thread thread_;
};

}  // namespace lanswarm::testing
