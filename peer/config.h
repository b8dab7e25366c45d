// The peer daemon's configuration: defaults, a TOML file, then flags.
// Every key is documented in doc/peer.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/auth/key_ring.h"
#include "common/status.h"

namespace lanswarm::peer {

struct Config {
  std::string coordinator = "127.0.0.1:6881";
  std::string listen = "0.0.0.0:6882";
  std::string state_dir;                     // empty: DefaultStateDir()
  std::vector<std::string> shared;           // files shared at every start
  std::chrono::seconds report_interval{10};  // must match the coordinator's N
  std::uint64_t upload_rate = 0;             // bytes per second; 0 = unlimited
  // [limits]: what one misbehaving or overeager client can take. Going over
  // one closes (or refuses) that connection only.
  struct Limits {
    std::uint32_t max_connections = 256;              // served at once, in all
    std::uint32_t max_connections_per_address = 32;   // from one IP address
    std::uint32_t max_unauthenticated = 64;           // in the handshake; beyond, the oldest makes room
    std::uint32_t max_requests_per_connection = 32;   // queued REQUESTs before REJECT(busy)
    std::uint32_t max_message_bytes = 64 << 10;       // largest frame a client may send
    std::chrono::seconds hello_timeout{5};            // to finish HELLO (and AUTH)
    std::chrono::seconds idle_timeout{300};           // nothing received and nothing to send
  } limits;
  std::uint32_t download_peers = 32;  // holders one download fetches from at once
  // Chunks this peer sends at once over all its connections to getters that
  // take grants (peer/upload_scheduler); 0: every request at once.
  std::uint32_t upload_slots = 2;
  // Bad peers (peer/ban_list.h): a holder whose chunks of a file fail their
  // checksum ban_after_bad_chunks times, or whose requests for it stall
  // ban_after_stalls times in a row (BanPolicy says why 3), is not used for
  // that file for ban_cooldown.
  std::uint32_t ban_after_bad_chunks = 3;
  std::uint32_t ban_after_stalls = 3;
  std::chrono::seconds ban_cooldown{600};
  std::chrono::milliseconds simulated_latency{0};
  std::string log_level = "info";
  auth::AuthConfig auth;  // [auth]: empty = open (serves anyone who connects)
};

// $XDG_STATE_HOME/lanswarm, or ~/.local/state/lanswarm; /var/lib/lanswarm for root.
std::string DefaultStateDir();

// Applies the file's keys over the defaults; errors name file, line and key.
Result<Config> LoadConfig(const std::string& path);
Status ValidateConfig(const Config& c);

}  // namespace lanswarm::peer
