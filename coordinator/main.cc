// bin/coordinator: the daemon (in the foreground, logging to stderr) and
// `coordinator status`, which asks a running one for its numbers.
//
// Exit codes: 0 stopped cleanly by SIGTERM/SIGINT (status: answered);
// 1 a runtime failure (cannot listen, io_uring unavailable, no answer);
// 2 bad usage or configuration.

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "common/cli_parse.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "common/net/loop.h"
#include "common/net/request.h"
#include "common/net/stop_signals.h"
#include "common/sodium_init.h"
#include "common/units.h"
#include "coordinator/config.h"
#include "coordinator/server.h"

namespace lanswarm::coordinator {
namespace {

int Fail(int code, const Status& s) {
  std::fprintf(stderr, "coordinator: %s\n", s.message().c_str());
  return code;
}

int RunServer(const std::string& config_path, const std::string& listen_flag, const std::string& log_level_flag) {
  Config config;
  if (!config_path.empty()) {
    auto loaded = LoadConfig(config_path);
    if (!loaded.ok()) return Fail(kExitUsage, loaded.status());
    config = std::move(*loaded);
  }
  if (!listen_flag.empty()) config.listen = listen_flag;
  if (!log_level_flag.empty()) config.log_level = log_level_flag;
  if (Status s = ValidateConfig(config); !s.ok()) return Fail(kExitUsage, s);
  auto listen = net::SocketAddress::Parse(config.listen);
  if (!listen.ok()) return Fail(kExitUsage, listen.status().Prefixed("listen"));
  if (Status s = SetupLogging("coordinator", config.log_level); !s.ok()) return Fail(kExitUsage, s);
  auto keys = auth::KeyRing::FromConfig(config.auth);
  if (!keys.ok()) return Fail(kExitUsage, keys.status());
  const bool keyed = keys->enabled();
  if (!keyed) {
    spdlog::warn("no [auth] cluster key: anyone who can reach {} may report and ask (doc/security.md)",
                 config.listen);
  }

  auto loop = net::Loop::Create();
  if (!loop.ok()) return Fail(kExitFailed, loop.status());
  std::array<std::uint8_t, 16> hash_key;
  randombytes_buf(hash_key.data(), hash_key.size());
  Server server(**loop, config, hash_key, std::move(*keys));
  auto bound = server.Start(*listen);
  if (!bound.ok()) return Fail(kExitFailed, bound.status());

  net::StopOnSignals(**loop);

  spdlog::info("listening on {} (peers report every {} s, dropped after {} s of silence; io_uring {}; {})",
               bound->ToString(), config.report_interval.count(), config.expiry().count(), (*loop)->ring_mode(),
               keyed ? "cluster key required" : "open");
  Status run = (*loop)->Run();
  net::ClearStopOnSignals();
  if (!run.ok()) return Fail(kExitFailed, run);
  spdlog::info("stopped");
  return kExitOk;
}

// The keys `status` proves with: --key-file, else the [auth] of --config.
Result<auth::KeyRing> StatusKeys(const std::string& key_file, const std::string& config_path) {
  if (!key_file.empty()) return auth::KeyRing::LoadFile(key_file);
  if (config_path.empty()) return auth::KeyRing();
  auto config = LoadConfig(config_path);
  if (!config.ok()) return config.status();
  return auth::KeyRing::FromConfig(config->auth);
}

int RunStatus(const std::string& address, bool json, int timeout_ms, const std::string& key_file,
              const std::string& config_path) {
  auto to = net::SocketAddress::Parse(address);
  if (!to.ok()) return Fail(kExitUsage, to.status());
  auto keys = StatusKeys(key_file, config_path);
  if (!keys.ok()) return Fail(kExitUsage, keys.status());
  auto reply = net::RequestReply(*to, proto::StatsRequest{1}, std::chrono::milliseconds(timeout_ms), *keys);
  if (!reply.ok()) return Fail(kExitFailed, reply.status());
  const auto* stats = std::get_if<proto::Stats>(&*reply);
  if (stats == nullptr) {
    return Fail(kExitFailed, Status::Corruption(address + ": answered with " +
                                                proto::MessageTypeName(proto::TypeOf(*reply)) + " instead of STATS"));
  }
  if (json) {
    nlohmann::json j;
    j["address"] = to->ToString();
    for (const auto& e : stats->entries) j[e.name] = e.value;
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("coordinator %s\n", to->ToString().c_str());
  for (const auto& e : stats->entries) {
    if (e.name == "rss_bytes") {
      std::printf("  %-28s %s\n", "memory (rss)", FormatBytes(e.value).c_str());
    } else if (e.name == "reports_per_second_milli") {
      std::printf("  %-28s %.1f\n", "reports per second", static_cast<double>(e.value) / 1000);
    } else {
      std::printf("  %-28s %llu\n", e.name.c_str(), static_cast<unsigned long long>(e.value));
    }
  }
  return kExitOk;
}

int Main(int argc, char** argv) {
  CLI::App app{"lanswarm coordinator: answers which peers hold which file.\n"
               "Peers report what they hold every N seconds; a peer silent for k x N seconds is dropped.\n"
               "Runs in the foreground, logs to stderr; SIGTERM or SIGINT stops it.\n"
               "Exit codes: 0 stopped cleanly; 1 runtime failure; 2 bad usage or configuration.",
               "coordinator"};
  std::string config_path, listen, log_level;
  app.add_option("-c,--config", config_path, "TOML configuration file (keys: doc/coordinator.md)");
  app.add_option("-l,--listen", listen, "Address to listen on, overriding the config (default 0.0.0.0:6881)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off (default info)");

  std::string status_address = "127.0.0.1:6881", status_key_file;
  bool status_json = false;
  int status_timeout_ms = 5000;
  auto* status = app.add_subcommand("status", "Ask a running coordinator for its table and load figures");
  status->add_option("address", status_address, "Coordinator address (default 127.0.0.1:6881)");
  status->add_flag("--json", status_json, "Print JSON");
  status->add_option("--key-file", status_key_file,
                     "Cluster key file to prove (default: the [auth] of --config, if given)");
  status->add_option("--timeout-ms", status_timeout_ms, "Give up after this long (default 5000)")
      ->check(CLI::Range(1, 600000));

  if (auto exit_code = ParseCommandLine(app, argc, argv)) return *exit_code;
  // The server and `status` both draw random bytes or prove a cluster key.
  if (Status s = InitSodium(); !s.ok()) return Fail(kExitFailed, s);
  if (status->parsed()) {
    return RunStatus(status_address, status_json, status_timeout_ms, status_key_file, config_path);
  }
  return RunServer(config_path, listen, log_level);
}

}  // namespace
}  // namespace lanswarm::coordinator

int main(int argc, char** argv) { return lanswarm::coordinator::Main(argc, argv); }
