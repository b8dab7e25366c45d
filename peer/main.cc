// bin/peer: the peer daemon and the commands that drive it.
//
// Exit codes: 0 success; 1 failure (no daemon, it refused, I/O error, a
// download that could not finish); 2 bad usage or configuration.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/auth/key_ring.h"
#include "common/cli_parse.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "common/progress_line.h"
#include "common/sodium_init.h"
#include "common/status_line.h"
#include "common/units.h"
#include "peer/config.h"
#include "peer/control.h"
#include "peer/daemon.h"
#include "peer/get_command.h"
#include "peer/get_progress.h"
#include "peer/share.h"
#include "peer/state_dir.h"

namespace lanswarm::peer {
namespace {

constexpr auto kControlTimeout = std::chrono::seconds(10);

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "peer: %s\n", message.c_str());
  return code;
}

// The options every subcommand takes.
struct Common {
  std::string config_path, state_dir, listen, coordinator, log_level;
  void AddTo(CLI::App* cmd) {
    cmd->add_option("-c,--config", config_path, "TOML configuration file (keys: doc/peer.md)");
    cmd->add_option("--state-dir", state_dir, "State directory: pid file, control socket, registry");
    cmd->add_option("--listen", listen, "Address to serve peers on (default 0.0.0.0:6882)");
    cmd->add_option("--coordinator", coordinator, "Coordinator address (default 127.0.0.1:6881)");
    cmd->add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off");
  }
  // The config file (if any) with the flags applied over it.
  Result<Config> Resolve() const {
    Config c;
    if (!config_path.empty()) {
      auto loaded = LoadConfig(config_path);
      if (!loaded.ok()) return loaded.status();
      c = std::move(*loaded);
    }
    if (!state_dir.empty()) c.state_dir = std::filesystem::absolute(state_dir).lexically_normal().string();
    if (!listen.empty()) c.listen = listen;
    if (!coordinator.empty()) c.coordinator = coordinator;
    if (!log_level.empty()) c.log_level = log_level;
    if (c.state_dir.empty()) c.state_dir = DefaultStateDir();
    LANSWARM_RETURN_IF_ERROR(ValidateConfig(c));
    return c;
  }
};

// Asks the daemon; "no daemon" becomes a clear one-line hint.
Result<nlohmann::json> Ask(const Config& c, const nlohmann::json& request) {
  const StatePaths paths(c.state_dir);
  auto reply = ControlRequest(paths.socket, request, kControlTimeout);
  if (!reply.ok() && reply.status().code() == Status::Code::kNotFound) {
    return Status::NotFound("no peer daemon is running (state dir " + c.state_dir +
                            "); start one with 'peer start-server'");
  }
  if (!reply.ok()) return reply.status();
  if (!reply->value("ok", false)) return Status::InvalidArgument(reply->value("error", "the daemon refused"));
  return reply;
}

// The detached daemon: its output goes to peer.log, and it tells the parent
// "ok <address>" or "error <message>" through `tell` once it serves.
[[noreturn]] void RunDetached(const Config& c, int tell) {
  auto say = [tell](const std::string& what) {
    const std::string msg = what + "\n";
    [[maybe_unused]] ssize_t n = ::write(tell, msg.data(), msg.size());
  };
  ::setsid();
  // The log lives in the state dir, so the dir is made (and its mode
  // corrected) here, and what was corrected goes into that log.
  const StatePaths paths(c.state_dir);
  auto prepared = PrepareStateDir(c.state_dir);
  auto log = prepared.ok() ? OpenStateFile(paths.log, O_WRONLY | O_APPEND) : Result<int>(prepared.status());
  if (!log.ok()) {
    say("error " + log.status().message());
    _exit(kExitFailed);
  }
  ::dup2(*log, 1);
  ::dup2(*log, 2);
  ::close(*log);
  ::freopen("/dev/null", "r", stdin);
  if (Status s = SetupLogging("peer", c.log_level); !s.ok()) _exit(kExitUsage);
  if (*prepared) spdlog::warn("{}", **prepared);
  bool told = false;
  Status s = RunDaemon(c, [&](const std::string& where) {
    say("ok " + where);
    ::close(tell);
    told = true;
  });
  if (!told) say("error " + s.message());
  _exit(s.ok() ? kExitOk : kExitFailed);
}

int RunStart(const Config& c, bool foreground) {
  if (foreground) {
    if (Status s = SetupLogging("peer", c.log_level); !s.ok()) return Fail(kExitUsage, s.message());
    Status s = RunDaemon(c, [](const std::string&) {});
    return s.ok() ? kExitOk : Fail(kExitFailed, s.message());
  }
  const StatePaths paths(c.state_dir);
  if (int pid = RunningDaemonPid(paths); pid != 0) {
    return Fail(kExitFailed, "a peer daemon is already running (pid " + std::to_string(pid) + ", state dir " +
                                 c.state_dir + ")");
  }
  // The child reports "ok <address>" or "error <message>" through this pipe
  // once it serves, so the parent can say what happened.
  int pipefd[2];
  if (::pipe(pipefd) != 0) return Fail(kExitFailed, "pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) return Fail(kExitFailed, "fork failed");
  if (pid == 0) {
    ::close(pipefd[0]);
    RunDetached(c, pipefd[1]);
  }
  ::close(pipefd[1]);
  std::string answer;
  char buf[4096];
  // Sharing the config's files hashes them first, which can take a while.
  pollfd p{pipefd[0], POLLIN, 0};
  while (answer.find('\n') == std::string::npos && ::poll(&p, 1, 600000) > 0) {
    ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipefd[0]);
  if (answer.rfind("ok ", 0) == 0) {
    std::printf("peer daemon started: pid %d, serving on %s, state dir %s (log: %s)\n", pid,
                answer.substr(3, answer.find('\n') - 3).c_str(), c.state_dir.c_str(), paths.log.c_str());
    return kExitOk;
  }
  ::waitpid(pid, nullptr, WNOHANG);
  if (answer.rfind("error ", 0) == 0) return Fail(kExitFailed, answer.substr(6, answer.find('\n') - 6));
  return Fail(kExitFailed, "the daemon exited during start-up; see " + paths.log);
}

int RunKill(const Config& c) {
  const StatePaths paths(c.state_dir);
  const int pid = RunningDaemonPid(paths);
  if (pid == 0) {
    const bool stale = ::access(paths.pid.c_str(), F_OK) == 0;
    if (stale) ::unlink(paths.pid.c_str());
    std::printf("no peer daemon is running (state dir %s)%s\n", c.state_dir.c_str(),
                stale ? "; removed a stale pid file" : "");
    return kExitOk;
  }
  // Gone once the pid file's lock is free: the kernel drops it when the
  // process exits, before (and whether or not) anyone reaps it.
  auto gone = [&paths] {
    for (int i = 0; i < 200; ++i) {  // up to 10 s
      if (RunningDaemonPid(paths) == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  auto reply = ControlRequest(paths.socket, {{"cmd", "stop"}}, std::chrono::seconds(5));
  if (reply.ok() && gone()) {
    std::printf("peer daemon stopped (pid %d)\n", pid);
    return kExitOk;
  }
  // The control socket did not work (or the daemon hangs): fall back to SIGTERM.
  if (pid > 0 && ::kill(pid, SIGTERM) == 0 && gone()) {
    std::printf("peer daemon stopped with SIGTERM (pid %d)%s\n", pid,
                reply.ok() ? "" : ("; its control socket failed: " + reply.status().message()).c_str());
    return kExitOk;
  }
  return Fail(kExitFailed, "the peer daemon (pid " + std::to_string(pid) + ") did not stop");
}

int RunShare(const Config& c, const std::string& file, const std::string& fileinfo_out, const std::string& digest_name,
             bool quiet) {
  std::optional<DigestAlgorithm> digest;
  if (!digest_name.empty()) {
    auto parsed = ParseDigestName(digest_name);
    if (!parsed.ok()) return Fail(kExitUsage, "--digest: " + parsed.status().message());
    digest = *parsed;
  }
  HashOptions opts;
  struct stat st;
  const bool big = ::stat(file.c_str(), &st) == 0 && st.st_size >= (256 << 20);
  ProgressLine progress(stderr, !quiet && big && StatusLine::IsTerminal(stderr), "hashing");
  opts.progress = [&](std::uint64_t done, std::uint64_t total) { progress.Update(done, total); };
  auto shared = PrepareShare(file, fileinfo_out, digest, opts);
  progress.Finish();
  if (!shared.ok()) return Fail(kExitFailed, shared.status().message());
  std::vector<std::uint32_t> missing;
  for (std::uint32_t i = 0; i < shared->info.chunk_count(); ++i) {
    if (!shared->verified.has(i)) missing.push_back(i);
  }
  auto reply = Ask(c, {{"cmd", "share"}, {"path", shared->path}, {"fileinfo", shared->fileinfo_path},
                       {"missing", missing}, {"size", shared->disk_size}, {"mtime_ns", shared->disk_mtime_ns}});
  if (!reply.ok()) return Fail(kExitFailed, reply.status().message());
  if (!quiet) {
    std::printf("sharing %s: %s, %u of %u chunks (%s), id %s\n  fileinfo: %s\n", shared->info.name.c_str(),
                FormatBytes(shared->info.size).c_str(), shared->verified.count_set(), shared->info.chunk_count(),
                reply->value("state", "?").c_str(), shared->info.id.ToHex().c_str(), shared->fileinfo_path.c_str());
  }
  return kExitOk;
}

int RunUnshare(const Config& c, const std::string& target) {
  std::string t = target;
  if (!FileId::FromHex(target)) {
    std::error_code ec;
    auto abs = std::filesystem::weakly_canonical(target, ec);
    if (!ec) t = abs.string();
  }
  auto reply = Ask(c, {{"cmd", "unshare"}, {"target", t}});
  if (!reply.ok()) return Fail(kExitFailed, reply.status().message());
  std::printf("stopped sharing %s\n", target.c_str());
  return kExitOk;
}

int RunStatus(const Config& c, bool json) {
  auto reply = Ask(c, {{"cmd", "status"}});
  if (!reply.ok()) return Fail(kExitFailed, reply.status().message());
  const nlohmann::json& r = *reply;
  if (json) {
    nlohmann::json out = r;
    out.erase("ok");
    std::printf("%s\n", out.dump(2).c_str());
    return kExitOk;
  }
  std::printf("peer daemon pid %d, serving on %s, state dir %s\n", r.value("pid", 0), r.value("listen", "?").c_str(),
              r.value("state_dir", "?").c_str());
  std::printf("coordinator %s: %s\n", r.value("coordinator", "?").c_str(),
              r.value("coordinator_connected", false) ? "connected" : "not connected (retrying)");
  std::printf("connected peers %llu, uploaded %s, upload rate %s/s\n",
              static_cast<unsigned long long>(r.value("connections", 0)),
              FormatBytes(r.value("uploaded_bytes", std::uint64_t{0})).c_str(),
              FormatBytes(r.value("upload_rate_bytes_per_second", std::uint64_t{0})).c_str());
  for (const auto& d : r.value("downloads", nlohmann::json::array())) {
    std::printf("download %s: %s\n", d.value("state", "?").c_str(), FormatGetProgress(d).c_str());
  }
  for (const auto& b : r.value("bans", nlohmann::json::array())) {
    std::printf("banned peer %s for %s: %s; %s left\n", b.value("address", "?").c_str(), b.value("name", "?").c_str(),
                b.value("cause", "?").c_str(), FormatSeconds(b.value("remaining_seconds", 0.0)).c_str());
  }
  const auto& files = r["files"];
  if (files.empty()) {
    std::printf("no shared files\n");
    return kExitOk;
  }
  std::printf("%-8s %-13s %10s %10s  %s\n", "STATE", "CHUNKS", "SIZE", "UPLOADED", "FILE");
  for (const auto& f : files) {
    const std::string chunks = std::to_string(f.value("chunks_held", 0)) + "/" + std::to_string(f.value("chunk_count", 0));
    std::printf("%-8s %-13s %10s %10s  %s\n", f.value("state", "?").c_str(), chunks.c_str(),
                FormatBytes(f.value("size", std::uint64_t{0})).c_str(),
                FormatBytes(f.value("uploaded_bytes", std::uint64_t{0})).c_str(), f.value("path", "?").c_str());
  }
  return kExitOk;
}

int RunGenKey(const std::string& path) {
  if (Status s = InitSodium(); !s.ok()) return Fail(kExitFailed, s.message());
  if (Status s = auth::WriteNewKeyFile(path); !s.ok()) return Fail(kExitFailed, s.message());
  std::printf("wrote a new cluster key to %s; copy it to every machine (mode 0600) and set [auth] key_file\n",
              path.c_str());
  return kExitOk;
}

int Main(int argc, char** argv) {
  CLI::App app{"lanswarm peer: shares files with the other machines of the LAN and fetches from them.\n"
               "Exit codes: 0 success; 1 failure; 2 bad usage or configuration.",
               "peer"};
  app.require_subcommand(1);
  Common common;
  bool foreground = false, json = false, quiet = false;
  std::string file, fileinfo_out, target, digest_name;

  auto* start = app.add_subcommand("start-server", "Start the daemon (detached unless --foreground)");
  common.AddTo(start);
  start->add_flag("--foreground", foreground, "Stay in the foreground and log to stderr (systemd, containers)");
  auto* kill = app.add_subcommand("kill-server", "Stop the running daemon and wait until it has exited");
  common.AddTo(kill);
  auto* share = app.add_subcommand("share", "Seed a file (making its .fileinfo if needed)");
  common.AddTo(share);
  share->add_option("file", file, "The file to share")->required();
  share->add_option("--fileinfo", fileinfo_out,
                    "Its .fileinfo: verified against when it exists, written when not (default <file>.fileinfo)");
  share->add_option("--digest", digest_name,
                    "Chunk checksum of a .fileinfo made now: xxh3 (default), sha256 or blake2b (see fileinfo create)");
  share->add_flag("-q,--quiet", quiet, "Print nothing on success");
  auto* unshare = app.add_subcommand("unshare", "Stop seeding a file");
  common.AddTo(unshare);
  unshare->add_option("target", target, "The file's path, its .fileinfo's path, or its id")->required();
  auto* status = app.add_subcommand("status", "List shared files, chunks held, upload rate and connected peers");
  common.AddTo(status);
  status->add_flag("--json", json, "Print JSON");
  GetFlags get_flags;
  auto* get = app.add_subcommand("get", "Download a file from the peers that hold it, then seed it");
  common.AddTo(get);
  get->add_option("fileinfo", get_flags.fileinfo, "The file's .fileinfo")->required();
  get->add_option("out", get_flags.out, "Where to put the file (written as <out>.partial until verified)")->required();
  get->add_flag("--force", get_flags.force, "Replace <out> if it exists");
  get->add_flag("--seed", get_flags.seed, "Without a daemon: keep seeding the file after the download (until Ctrl-C)");
  get->add_option("--wait", get_flags.wait_seconds, "Give up after this many seconds without a usable holder")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  get->add_flag("-q,--quiet", get_flags.quiet, "No progress line and no summary");
  get->add_flag("--json", get_flags.json, "Progress events as JSON lines on stdout");
  std::string key_path;
  auto* gen_key = app.add_subcommand("gen-key", "Write a new random cluster key file (mode 0600; never overwrites)");
  gen_key->add_option("file", key_path, "Where to write it; point [auth] key_file at it on every machine")
      ->required();
  auto* help = app.add_subcommand("help", "Show this help");

  if (auto exit_code = ParseCommandLine(app, argc, argv)) return *exit_code;
  if (help->parsed()) {
    std::fputs(app.help().c_str(), stdout);
    return kExitOk;
  }
  if (gen_key->parsed()) return RunGenKey(key_path);
  auto config = common.Resolve();
  if (!config.ok()) return Fail(kExitUsage, config.status().message());
  if (start->parsed()) return RunStart(*config, foreground);
  if (kill->parsed()) return RunKill(*config);
  if (share->parsed()) return RunShare(*config, file, fileinfo_out, digest_name, quiet);
  if (unshare->parsed()) return RunUnshare(*config, target);
  if (get->parsed()) {
    get_flags.log_level_given = !common.log_level.empty();
    return RunGet(*config, get_flags);
  }
  return RunStatus(*config, json);
}

}  // namespace
}  // namespace lanswarm::peer

int main(int argc, char** argv) { return lanswarm::peer::Main(argc, argv); }
