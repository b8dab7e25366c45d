#include "peer/get_command.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/cli_parse.h"
#include "common/exit_codes.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/progress_line.h"
#include "common/status_line.h"
#include "fileinfo/fileinfo.h"
#include "peer/control.h"
#include "peer/daemon.h"
#include "peer/get_progress.h"
#include "peer/storage.h"

namespace lanswarm::peer {

namespace {

// The daemon is asked every kPoll, so the command returns within 50 ms of
// the end; the display changes every kShow.
constexpr auto kPoll = std::chrono::milliseconds(50);
constexpr auto kShow = std::chrono::milliseconds(200);
constexpr auto kControlTimeout = std::chrono::seconds(10);

volatile sig_atomic_t g_interrupted = 0;
void OnInterrupt(int) { g_interrupted = 1; }

int Fail(const std::string& message) {
  std::fprintf(stderr, "peer: %s\n", message.c_str());
  return kExitFailed;
}

// Shows the progress: a redrawn line on a terminal, JSON lines with --json.
class Display {
 public:
  Display(bool quiet, bool json) : json_(json), line_(stderr, !quiet && !json && StatusLine::IsTerminal(stderr)) {}

  void Update(const nlohmann::json& p) {
    last_ = p;
    if (json_) {
      std::printf("%s\n", Event(p, "progress").dump().c_str());
      std::fflush(stdout);
    } else if (line_.enabled()) {
      line_.Show(FormatGetProgress(p));
    }
  }
  // The last word: the summary on success, nothing else (errors are the caller's).
  void Finish(bool quiet) {
    line_.Clear();
    if (json_) {
      std::printf("%s\n", Event(last_, "end").dump().c_str());
    } else if (!quiet && last_.value("state", "") == "done") {
      std::printf("%s\n", FormatGetSummary(last_).c_str());
    }
    std::fflush(stdout);
  }
  const nlohmann::json& last() const { return last_; }

 private:
  static nlohmann::json Event(nlohmann::json p, const char* kind) {
    p.erase("ok");
    p["event"] = kind;
    return p;
  }
  bool json_;
  StatusLine line_;
  nlohmann::json last_ = nlohmann::json::object();
};

std::string Absolute(const std::string& p) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(p, ec);
  return ec ? p : abs.lexically_normal().string();
}

// The download runs in the daemon; this only follows it. Ctrl-C cancels it
// (the .partial is kept); if this process is killed instead, the daemon
// carries on and the same command attaches to it again.
int Follow(const StatePaths& paths, const std::string& out, Display& display, const GetFlags& flags) {
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  auto shown = std::chrono::steady_clock::time_point{};
  while (true) {
    if (g_interrupted) {
      auto r = ControlRequest(paths.socket, {{"cmd", "cancel"}, {"out", out}}, kControlTimeout);
      display.Finish(true);
      return Fail("interrupted; the download was stopped and " + PartialPath(out) +
                  " is kept: run the same command to resume");
    }
    auto r = ControlRequest(paths.socket, {{"cmd", "progress"}, {"out", out}}, kControlTimeout);
    if (!r.ok() || !r->value("ok", false)) {
      display.Finish(true);
      return Fail("lost the daemon during the download (" + (r.ok() ? r->value("error", "?") : r.status().message()) +
                  "); " + PartialPath(out) + " is kept: run the same command to resume");
    }
    const std::string state = r->value("state", "");
    if (state == "done" || state == "failed") {
      display.Update(*r);
      break;
    }
    if (const auto t = std::chrono::steady_clock::now(); t - shown >= kShow) {
      display.Update(*r);
      shown = t;
    }
    std::this_thread::sleep_for(kPoll);
  }
  display.Finish(flags.quiet);
  if (display.last().value("state", "") == "done") return kExitOk;
  return Fail(display.last().value("error", "the download failed"));
}

}  // namespace

int RunGet(const Config& config, const GetFlags& flags) {
  const std::string fileinfo_path = Absolute(flags.fileinfo);
  const std::string out = Absolute(flags.out);
  auto info = LoadFileInfo(fileinfo_path);
  if (!info.ok()) return Fail(info.status().message());
  const StatePaths paths(config.state_dir);
  Display display(flags.quiet, flags.json);
  const bool daemon = RunningDaemonPid(paths) != 0;

  // Already running in the daemon (this command was killed earlier): follow it.
  if (daemon) {
    auto r = ControlRequest(paths.socket, {{"cmd", "progress"}, {"out", out}}, kControlTimeout);
    if (r.ok() && r->value("ok", false) && r->value("state", "") != "done" && r->value("state", "") != "failed") {
      if (!flags.quiet && !flags.json) std::fprintf(stderr, "following the download already running in the daemon\n");
      return Follow(paths, out, display, flags);
    }
  }

  HashOptions hash;
  const bool show = !flags.quiet && !flags.json && StatusLine::IsTerminal(stderr);
  ProgressLine checking(stderr, show && std::filesystem::exists(PartialPath(out)), "checking .partial");
  hash.progress = [&](std::uint64_t done, std::uint64_t total) { checking.Update(done, total); };
  auto reserved = ReservePartial(out, *info, flags.force, hash);
  checking.Finish();
  if (!reserved.ok()) return Fail(reserved.status().message());
  if (reserved->resumed && !flags.quiet && !flags.json) {
    std::fprintf(stderr, "resuming: %u of %u chunks of %s already verified\n", reserved->held.count_set(),
                 info->chunk_count(), reserved->partial.c_str());
  }
  const nlohmann::json request = {{"cmd", "get"}, {"fileinfo", fileinfo_path}, {"out", out},
                                  {"held", HexBytes(reserved->held.bytes())},
                                  {"partial", reserved->identity.ToString()}, {"holder_timeout", flags.wait_seconds}};

  // A .partial made just now and never used is removed when the download
  // cannot start; one holding chunks from an earlier run always stays.
  auto refused = [&](const std::string& why) {
    if (!reserved->resumed) ::unlink(reserved->partial.c_str());
    return Fail(why);
  };
  if (daemon) {
    auto r = ControlRequest(paths.socket, request, kControlTimeout);
    if (!r.ok()) return refused(r.status().message());
    if (!r->value("ok", false)) return refused(r->value("error", "the daemon refused the download"));
    return Follow(paths, out, display, flags);
  }

  // No daemon: this process is the node until the download ends.
  Config c = config;
  if (!flags.log_level_given) c.log_level = "warn";
  if (Status s = SetupLogging("peer", c.log_level); !s.ok()) return Fail(s.message());
  DaemonOptions options;
  options.get = request;
  options.stop_after_downloads = true;
  options.seed = flags.seed;
  bool told_seeding = false;
  std::string listening;
  options.on_progress = [&](const nlohmann::json& p) {
    display.Update(p);
    if (p.value("state", "") == "done" && flags.seed && !told_seeding) {
      told_seeding = true;
      display.Finish(flags.quiet);
      if (!flags.quiet && !flags.json) std::printf("seeding %s on %s; Ctrl-C to stop\n", out.c_str(), listening.c_str());
      std::fflush(stdout);
    }
  };
  bool started = false;
  Status s = RunDaemon(c, [&](const std::string& where) { listening = where; started = true; }, options);
  if (!s.ok()) return started ? Fail(s.message()) : refused(s.message());
  const std::string state = display.last().value("state", "");
  if (state == "done") {
    if (!told_seeding) display.Finish(flags.quiet);
    return kExitOk;
  }
  display.Finish(true);
  if (state == "failed") return Fail(display.last().value("error", "the download failed"));
  return Fail("interrupted; " + PartialPath(out) + " is kept: run the same command to resume");
}

}  // namespace lanswarm::peer
