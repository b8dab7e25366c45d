// The coordinator's configuration: defaults, then a TOML file, then flags.
// Every key is documented in doc/coordinator.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/auth/key_ring.h"
#include "common/status.h"
#include "coordinator/advertised_address.h"
#include "coordinator/availability_table.h"

namespace lanswarm::coordinator {

struct Config {
  std::string listen = "0.0.0.0:6881";
  std::chrono::seconds report_interval{10};  // N: how often peers report
  std::uint32_t expiry_multiple = 3;         // k: silent for k x N = gone
  TableLimits table;
  std::uint32_t max_connections = 10000;
  std::uint32_t max_connections_per_address = 256;
  // In the handshake at once; beyond, the oldest is closed to make room.
  // Large: after a coordinator restart every peer reconnects at once.
  std::uint32_t max_unauthenticated_connections = 1024;
  std::uint32_t max_message_bytes = 4u << 20;
  std::chrono::seconds hello_timeout{5};     // a new connection must say HELLO by then
  std::string log_level = "info";
  AdvertisePolicy advertise;                 // allow_advertised_addresses
  auth::AuthConfig auth;                     // [auth]: empty = open (anyone may report and ask)

  std::chrono::seconds expiry() const { return report_interval * expiry_multiple; }
  // Connections silent for longer are closed: a live peer reports every N.
  std::chrono::seconds idle_timeout() const { return expiry(); }
};

// Applies the keys of the TOML file at `path` over the defaults. Errors name
// the file, the line and the key; unknown keys are errors.
Result<Config> LoadConfig(const std::string& path);
// Checks cross-key constraints; LoadConfig calls it, and main() again after flags.
Status ValidateConfig(const Config& c);

}  // namespace lanswarm::coordinator
