// The peer daemon: serves shared files to other peers, reports them to the
// coordinator, and takes commands on its control socket. Everything runs on
// one io_uring loop in the calling thread.
#pragma once

#include <functional>
#include <string>

#include "common/status.h"
#include "peer/config.h"

namespace lanswarm::peer {

// Where a daemon keeps its files, inside its state directory.
struct StatePaths {
  explicit StatePaths(const std::string& dir);
  std::string dir, pid, socket, registry, id, log;
};

// Runs until SIGTERM, SIGINT or a "stop" command. `ready` is called once,
// with the address it serves on, when it is fully up; errors before that
// (already running, cannot listen...) are returned instead.
Status RunDaemon(const Config& config, const std::function<void(const std::string& listening)>& ready);

// The pid of the daemon holding the state directory's lock, or 0 when none
// does (no pid file, or a stale one: its process is gone).
int RunningDaemonPid(const StatePaths& paths);

}  // namespace lanswarm::peer
