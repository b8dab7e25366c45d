// Processes of a test cluster on loopback: a coordinator and peers, each
// with its own temp dir, free port and a 1 s report interval so tests see
// reports quickly. For the tests that run the real binaries (tests/cli).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/proto/messages.h"
#include "tests/support/child_process.h"
#include "tests/support/scripted_client.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::testing {

inline bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A coordinator process, ended with its ChildProcess; on a free port
// unless given one.
struct MiniCoordinator {
  TempDir dir;
  int port = FreeLoopbackPort();
  std::unique_ptr<ChildProcess> proc;
  const auth::KeyRing* keys = nullptr;  // what Query and Reports prove, if the coordinator needs a key
  explicit MiniCoordinator(int fixed_port = 0, const std::string& extra_config = "") {
    if (fixed_port != 0) port = fixed_port;
    WriteTestFile(dir.File("c.toml"),
                  "listen = \"127.0.0.1:" + std::to_string(port) + "\"\nreport_interval = 1\n" + extra_config);
    proc = std::make_unique<ChildProcess>(std::vector<std::string>{BinPath("coordinator"), "-c", dir.File("c.toml")},
                                          dir.File("log"));
    REQUIRE(WaitFor([&] { return ScriptedClient(port).connected(); }, std::chrono::seconds(5)));
  }
  std::vector<proto::Holder> Query(const FileId& id) {
    ScriptedClient c(port);
    if (!c.Handshake(200, proto::Role::kTool, keys).ok()) return {};
    c.Send(proto::Query{1, id});
    auto r = c.Receive();
    return r.ok() ? std::get<proto::Holders>(*r).holders : std::vector<proto::Holder>{};
  }
  // True when the peer listening on `peer_port` is listed for `id` in `state`.
  bool Lists(const FileId& id, int peer_port, proto::FileState state) {
    for (const proto::Holder& h : Query(id)) {
      if (h.endpoint.port == peer_port && h.state == state) return true;
    }
    return false;
  }
  // A counter of the coordinator's STATS ("peers", "entries", ...); 0 when absent.
  std::uint64_t Stat(const std::string& name) {
    ScriptedClient c(port);
    if (!c.Handshake(201, proto::Role::kTool, keys).ok()) return 0;
    c.Send(proto::StatsRequest{1});
    auto r = c.Receive();
    if (!r.ok()) return 0;
    for (const auto& e : std::get<proto::Stats>(*r).entries) {
      if (e.name == name) return e.value;
    }
    return 0;
  }
  std::uint64_t Reports() { return Stat("reports_total"); }
};

// A peer's command line: its state dir, ports and config. Its daemon, if
// started, is stopped with kill-server when this goes away.
struct Peer {
  TempDir dir;
  int port = FreeLoopbackPort();
  int coordinator_port;
  explicit Peer(int coord_port, const std::string& extra_config = "") : coordinator_port(coord_port) {
    WriteTestFile(dir.File("peer.toml"), "report_interval = 1\n" + extra_config);
  }
  std::vector<std::string> Args(std::vector<std::string> cmd) const {
    std::vector<std::string> argv = {BinPath("peer")};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    const std::vector<std::string> common = {"--state-dir", dir.File("state"),
                                             "--listen", "127.0.0.1:" + std::to_string(port),
                                             "--coordinator", "127.0.0.1:" + std::to_string(coordinator_port),
                                             "--config", dir.File("peer.toml")};
    argv.insert(argv.end(), common.begin(), common.end());
    return argv;
  }
  RunResult Cmd(std::vector<std::string> cmd) const { return Run(Args(std::move(cmd)), 90); }
  void Start() {
    auto r = Cmd({"start-server"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(Has(r.out, "peer daemon started"));
  }
  void Share(const std::string& file, const std::string& fileinfo) {
    auto r = Cmd({"share", "-q", file, "--fileinfo", fileinfo});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  ~Peer() { Run(Args({"kill-server"}), 30); }
  nlohmann::json Status() {
    auto r = Cmd({"status", "--json"});
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(r.out);
  }
  std::string Log() const { return ReadTestFile(dir.File("state/peer.log")); }
};

}  // namespace lanswarm::testing
