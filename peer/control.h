// Local control of a running daemon: one JSON object per line in each
// direction over a Unix socket in the state directory (mode 0600, so only
// the daemon's user can use it). Requests: {"cmd": NAME, ...} with NAME one
// of the commands of Daemon::kCommands (peer/daemon_commands.cc); replies:
// {"ok": true, ...} or {"ok": false, "error": "..."}. doc/peer.md lists the
// commands and their fields.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/net/loop.h"
#include "common/status.h"

namespace lanswarm::peer {

using ControlHandler = std::function<nlohmann::json(const nlohmann::json& request)>;

// Listens on `socket_path` (replacing a stale socket file there), mode 0600
// and never wider at any moment. REQUIRES: no other thread of the process
// makes files meanwhile (the umask is narrowed while it binds).
Status StartControlServer(net::Loop& loop, const std::string& socket_path, ControlHandler handler);

// The client side, for the CLI: connects, sends one request, returns the
// reply. NotFound when nothing listens at `socket_path`.
Result<nlohmann::json> ControlRequest(const std::string& socket_path, const nlohmann::json& request,
                                      std::chrono::milliseconds timeout);

}  // namespace lanswarm::peer
