// The daemon's parts and their wiring: the node (peer/node: identity,
// registry, bans), the serving side (ServeContext and a SessionPool), the
// coordinator link, the downloads, and the control commands, one method
// each, found by name in one table (Daemon::kCommands in
// peer/daemon_commands.cc).
//
// Member order is destruction order reversed, and it matters: downloads
// and the link go before the loop, the loop (whose destructor still runs
// handlers' OnClosed) before the node whose registry they read.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/net/loop.h"
#include "common/net/session_pool.h"
#include "common/rate_window.h"
#include "peer/coordinator_link.h"
#include "peer/daemon.h"
#include "peer/downloader.h"
#include "peer/node.h"
#include "peer/serve_session.h"
#include "peer/upload_capacity.h"

namespace lanswarm::peer {

class PidLock;

class Daemon final : private NodeEvents {
 public:
  // Everything up to listening: state dir and its lock, keys, peer id, the
  // registry, the serving pool, the coordinator link, the control socket.
  // Errors here are returned (already running, cannot listen, bad address).
  static Result<std::unique_ptr<Daemon>> Create(const Config& config, const DaemonOptions& options);
  ~Daemon() override;

  // Runs the loop until stopped; `ready` first, with the serving address.
  Status Run(const std::function<void(const std::string& listening)>& ready);

  // One control request in, its reply out (doc/peer.md, Control protocol).
  nlohmann::json Dispatch(const nlohmann::json& request);

 private:
  using Command = nlohmann::json (Daemon::*)(const nlohmann::json& request);
  // The control commands by name: adding one is a method and a row.
  static const std::map<std::string_view, Command> kCommands;

  Daemon(const Config& config, const DaemonOptions& options, StatePaths paths);
  Status Setup();
  void StartTimers();

  // Control commands (peer/daemon_commands.cc).
  nlohmann::json CmdStatus(const nlohmann::json& request);
  nlohmann::json CmdGet(const nlohmann::json& request);
  nlohmann::json CmdProgress(const nlohmann::json& request);
  nlohmann::json CmdCancel(const nlohmann::json& request);
  nlohmann::json CmdShare(const nlohmann::json& request);
  nlohmann::json CmdUnshare(const nlohmann::json& request);
  nlohmann::json CmdStop(const nlohmann::json& request);

  // A download ended: its last progress to the CLI, maybe stop the daemon.
  void OnDownloadDone(const std::string& out);

  // NodeEvents: what the node's changes mean for the network side.
  void OnChunkGained(const FileId& id, std::uint32_t index) override;
  void OnFileReset(const FileId& id) override;
  void OnFileShared(const SharedFile& f) override;
  void ReportNow() override;

  Config config_;
  DaemonOptions options_;
  StatePaths paths_;
  std::unique_ptr<PidLock> lock_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<net::Loop> loop_;
  std::shared_ptr<ServeContext> serving_;
  std::unique_ptr<net::SessionPool> pool_;
  net::SocketAddress bound_, coordinator_;
  std::unique_ptr<CoordinatorLink> link_;
  // Downloads by output path; finished ones stay so their last progress
  // can still be read, until the same path is asked for again.
  std::map<std::string, std::shared_ptr<Downloader>> downloads_;
  RateWindow upload_rate_{std::chrono::seconds(5)};  // of bytes served
  UploadCapacity upload_capacity_;                    // what REPORT says of our uplink
  bool stopping_ = false;
};

}  // namespace lanswarm::peer
