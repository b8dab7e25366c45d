// The peer daemon: serves shared files to other peers, reports them to the
// coordinator, runs downloads, and takes commands on its control socket.
// Everything runs on one io_uring loop in the calling thread. The class
// itself is in peer/daemon_impl.h; this is what the CLI uses.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "peer/config.h"

namespace lanswarm::peer {

// Where a daemon keeps its files, inside its state directory.
struct StatePaths {
  explicit StatePaths(const std::string& dir);
  std::string dir, pid, socket, registry, identity, log;
};

// For `peer get` when no daemon runs: it becomes the node itself, starts
// its one download at once, and may stop when that ends.
struct DaemonOptions {
  std::optional<nlohmann::json> get;  // a "get" control request, started once up
  // Stop once no download is running, except after a success with `seed`
  // (peer get --seed keeps serving the file).
  bool stop_after_downloads = false;
  bool seed = false;
  // The download's progress (as the "progress" command answers), a few
  // times a second and once more at its end.
  std::function<void(const nlohmann::json&)> on_progress;
};

class Daemon;

// Runs until SIGTERM, SIGINT or a "stop" command. `ready` is called once,
// with the address it serves on, when it is fully up; errors before that
// (already running, cannot listen...) are returned instead.
Status RunDaemon(const Config& config, const std::function<void(const std::string& listening)>& ready,
                 const DaemonOptions& options = {});

// The pid of the daemon holding the state directory's lock, or 0 when none
// does (no pid file, or a stale one: its process is gone).
int RunningDaemonPid(const StatePaths& paths);

}  // namespace lanswarm::peer
