#include "common/hex.h"
#include "peer/daemon.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <filesystem>

#include <fmt/format.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "common/file_util.h"
#include "common/net/connection.h"
#include "common/net/loop.h"
#include "common/net/session_pool.h"
#include "common/net/stop_signals.h"
#include "common/rate_window.h"
#include "peer/ban_list.h"
#include "peer/control.h"
#include "peer/coordinator_link.h"
#include "peer/downloader.h"
#include "peer/serve_session.h"
#include "peer/share.h"

namespace lanswarm::peer {

namespace {

// Holds the exclusive lock on the pid file for the daemon's lifetime.
class PidLock {
 public:
  static Result<PidLock> Acquire(const StatePaths& paths) {
    int fd = ::open(paths.pid.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::FromErrno(paths.pid, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return Status::AlreadyExists(fmt::format("a peer daemon is already running (pid {}, state dir {})",
                                               RunningDaemonPid(paths), paths.dir));
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      Status s = Status::FromErrno(paths.pid, errno);
      ::close(fd);
      return s;
    }
    return PidLock(fd, paths.pid);
  }
  PidLock(PidLock&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  ~PidLock() {
    if (fd_ < 0) return;
    ::unlink(path_.c_str());  // while still locked: nobody else can be mid-start
    ::close(fd_);
  }

 private:
  PidLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

Result<proto::PeerId> LoadOrCreatePeerId(const std::string& path) {
  auto text = ReadFileBounded(path, 256);
  if (text.ok()) {
    if (auto parsed = ParsePeerId(text->substr(0, text->find_first_of("\r\n")))) return *parsed;
    spdlog::warn("{}: not a peer id; making a new one", path);
  }
  proto::PeerId id;
  randombytes_buf(id.data(), id.size());
  LANSWARM_RETURN_IF_ERROR(WriteFileAtomic(path, PeerIdHex(id) + "\n", true));
  return id;
}

// An active ban as `peer status` shows it (doc/peer.md).
nlohmann::json BanJson(const Ban& b, Clock::TimePoint now) {
  return {{"file", b.file.ToHex()}, {"name", b.file_name}, {"peer_id", PeerIdHex(b.peer)}, {"address", b.address},
          {"bad_chunks", b.bad_chunks},
          {"remaining_seconds", std::chrono::duration<double>(b.until - now).count()}};
}

const char* StateName(proto::FileState s) {
  switch (s) {
    case proto::FileState::kWhole: return "whole";
    case proto::FileState::kPartial: return "partial";
    case proto::FileState::kGone: return "gone";
  }
  return "?";
}

}  // namespace

StatePaths::StatePaths(const std::string& d)
    : dir(d), pid(d + "/peer.pid"), socket(d + "/control.sock"), registry(d + "/registry.json"),
      id(d + "/peer.id"), log(d + "/peer.log") {}

int RunningDaemonPid(const StatePaths& paths) {
  int fd = ::open(paths.pid.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  // A daemon holds an exclusive lock: if we can take a shared one, none runs.
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
    ::close(fd);
    return 0;
  }
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  ::close(fd);
  return n > 0 ? std::atoi(buf) : -1;
}

Status RunDaemon(const Config& config, const std::function<void(const std::string&)>& ready,
                 const DaemonOptions& options) {
  const StatePaths paths(config.state_dir.empty() ? DefaultStateDir() : config.state_dir);
  std::error_code ec;
  std::filesystem::create_directories(paths.dir, ec);
  if (ec) return Status::IOError(fmt::format("cannot create state dir {}: {}", paths.dir, ec.message()));
  auto lock = PidLock::Acquire(paths);
  if (!lock.ok()) return lock.status();
  if (sodium_init() < 0) return Status::Unsupported("libsodium failed to initialise");
  auto keys = auth::KeyRing::FromConfig(config.auth);
  if (!keys.ok()) return keys.status();
  auto shared_keys = std::make_shared<const auth::KeyRing>(std::move(*keys));
  // A daemon left running says so; a one-off `peer get` does not nag.
  if (!shared_keys->enabled() && !options.get) {
    spdlog::warn("no [auth] cluster key: anyone who can reach {} may download every file shared here "
                 "(doc/security.md)", config.listen);
  }
  auto self = LoadOrCreatePeerId(paths.id);
  if (!self.ok()) return self.status();
  auto listen = net::SocketAddress::Parse(config.listen);
  if (!listen.ok()) return listen.status().Prefixed("listen");
  auto coordinator = net::SocketAddress::Parse(config.coordinator);
  if (!coordinator.ok()) return coordinator.status().Prefixed("coordinator");

  net::LoopOptions loop_options;
  loop_options.send_latency = config.simulated_latency;
  auto loop_or = net::Loop::Create(loop_options);
  if (!loop_or.ok()) return loop_or.status();
  net::Loop& loop = **loop_or;

  auto ctx = std::make_shared<ServeContext>(loop.clock(), config, *self, shared_keys);
  std::vector<std::string> warnings;
  auto registry = Registry::Load(paths.registry, &warnings);
  if (!registry.ok()) return registry.status();
  ctx->registry = std::move(*registry);
  for (const auto& w : warnings) spdlog::warn("{}", w);
  auto save = [&] {
    if (Status s = ctx->registry.Save(paths.registry); !s.ok()) spdlog::error("cannot save the registry: {}", s.message());
  };
  // Files the config shares, unless already known; each is hashed here once.
  for (const std::string& path : config.shared) {
    bool known = false;
    for (const SharedFile& f : ctx->registry.files()) known = known || f.path == path;
    if (known) continue;
    auto f = PrepareShare(path, "");
    if (!f.ok()) {
      spdlog::error("not sharing {}: {}", path, f.status().message());
      continue;
    }
    spdlog::info("sharing {} ({} chunks)", f->path, f->info.chunk_count());
    ctx->registry.Put(std::move(*f));
  }
  for (const SharedFile& f : ctx->registry.files()) ctx->TrackSpread(f);
  // A file that vanished, changed on disk or failed a chunk's checksum is
  // no longer served, and reported as gone from then on.
  auto stop_serving = [&](SharedFile& f, const Status& why) {
    spdlog::warn("stopped serving {}: {}", f.path, why.message());
    f.changed = true;
    ctx->Close(f.info.id);
  };
  auto check_disk = [&]() {
    bool dirty = false;
    for (SharedFile& f : ctx->registry.files()) {
      if (f.changed || f.downloading) continue;
      if (Status s = CheckOnDisk(f); !s.ok()) {
        stop_serving(f, s);
        dirty = true;
      }
    }
    if (dirty) save();
    return dirty;
  };
  check_disk();
  save();

  std::unique_ptr<CoordinatorLink> link;
  ctx->on_changed = [&](SharedFile& f, const Status& why) {
    stop_serving(f, why);
    save();
    if (link) link->ReportNow();
  };

  std::weak_ptr<ServeContext> weak = ctx;
  net::SessionOptions serving;
  serving.keys = shared_keys;
  serving.hello = proto::MakeHello(proto::Role::kPeer, *self);
  serving.max_payload = config.limits.max_message_bytes;
  const Config::Limits& l = config.limits;
  net::SessionPool pool(loop, serving,
                        {.max_connections = l.max_connections,
                         .max_connections_per_address = l.max_connections_per_address,
                         .hello_timeout = l.hello_timeout,
                         .idle_timeout = l.idle_timeout},
                        [weak](const net::SocketAddress&) -> std::unique_ptr<net::SessionHandler> {
                          auto c = weak.lock();
                          if (!c) return nullptr;
                          return std::make_unique<ServeSession>(c);
                        });
  auto bound = pool.Listen(*listen);
  if (!bound.ok()) return bound.status();

  link = std::make_unique<CoordinatorLink>(loop, *coordinator, *self, shared_keys, config.report_interval,
                                           [&] { return BuildReport(ctx->registry, bound->port()); });

  // The upload rate shown by `peer status`: bytes over the last 5 seconds.
  RateWindow upload_rate(std::chrono::seconds(5));
  loop.AddPeriodic(config.report_interval, [&] {
    if (check_disk()) link->ReportNow();
  });

  // Holders banned per file, for every download of this daemon.
  BanList bans(BanPolicy{.after_bad_chunks = config.ban_after_bad_chunks, .cooldown = config.ban_cooldown});

  // Housekeeping once a second: the upload rate's sample, bans whose
  // cool-down is over (the pool enforces the serving timeouts itself).
  loop.AddPeriodic(std::chrono::seconds(1), [&] {
    const Clock::TimePoint now = loop.clock().now();
    upload_rate.Add(now, ctx->uploaded_bytes);
    for (const Ban& b : bans.Expire(now)) spdlog::info("the ban of peer {} for {} has ended", b.address, b.file_name);
  });

  // Downloads by output path; finished ones stay so their last progress
  // can still be read, until the same path is asked for again.
  std::map<std::string, std::shared_ptr<Downloader>> downloads;
  const DownloadEnv env{&loop, ctx, link.get(), save, &bans};
  auto maybe_stop = [&] {
    if (!options.stop_after_downloads) return;
    bool all_ok = true;
    for (const auto& [out, d] : downloads) {
      if (!d->finished()) return;
      all_ok = all_ok && d->succeeded();
    }
    if (!(options.seed && all_ok)) loop.Stop();
  };
  auto start_get = [&](const nlohmann::json& req) -> nlohmann::json {
    GetRequest r;
    r.fileinfo_path = req.value("fileinfo", "");
    r.out = req.value("out", "");
    r.holder_timeout = std::chrono::seconds(req.value("holder_timeout", 60));
    r.seed = randombytes_random() | std::uint64_t{randombytes_random()} << 32;
    r.max_peers = config.download_peers;
    if (r.out.empty() || r.fileinfo_path.empty()) return {{"ok", false}, {"error", "get needs \"fileinfo\" and \"out\""}};
    if (auto it = downloads.find(r.out); it != downloads.end() && !it->second->finished()) {
      return {{"ok", true}, {"attached", true}};
    }
    auto info = LoadFileInfo(r.fileinfo_path);
    if (!info.ok()) return {{"ok", false}, {"error", info.status().message()}};
    for (const auto& [other_out, d] : downloads) {
      if (!d->finished() && d->id() == info->id) {
        return {{"ok", false}, {"error", fmt::format("{} is already being downloaded to {}", info->name, other_out)}};
      }
    }
    if (const SharedFile* f = ctx->registry.Find(info->id); f != nullptr && !f->changed && !f->downloading &&
                                                            f->state() == proto::FileState::kWhole) {
      return {{"ok", false}, {"error", fmt::format("this peer already shares a whole copy of {} at {}; copy that file instead",
                                                   info->name, f->path)}};
    }
    if (req.contains("partial")) {
      r.partial_identity = FileIdentity::Parse(req.value("partial", ""));
      if (!r.partial_identity) return {{"ok", false}, {"error", "get: \"partial\" is not dev:ino"}};
    }
    if (auto bits = ParseHexBytes(req.value("held", "")); bits && bits->size() == (info->chunk_count() + 7) / 8) {
      r.held = Bitfield::FromBytes(info->chunk_count(), std::move(*bits));
    }
    const std::string out = r.out;
    auto d = Downloader::Start(env, std::move(r), [&, out](const Status&) {
      if (options.on_progress) {
        if (auto it = downloads.find(out); it != downloads.end()) options.on_progress(it->second->Progress());
      }
      maybe_stop();
    });
    if (!d.ok()) return {{"ok", false}, {"error", d.status().message()}};
    downloads[out] = *d;
    return {{"ok", true}, {"attached", false}};
  };
  if (options.on_progress) {
    loop.AddPeriodic(std::chrono::milliseconds(250), [&] {
      for (const auto& [out, d] : downloads) {
        if (!d->finished()) options.on_progress(d->Progress());
      }
    });
  }

  bool stopping = false;
  Status control = StartControlServer(loop, paths.socket, [&](const nlohmann::json& req) -> nlohmann::json {
    const std::string cmd = req.value("cmd", "");
    if (cmd == "status") {
      nlohmann::json files = nlohmann::json::array();
      for (const SharedFile& f : ctx->registry.files()) {
        files.push_back({{"name", f.info.name}, {"path", f.path}, {"id", f.info.id.ToHex()},
                         {"state", StateName(f.state())}, {"chunks_held", f.verified.count_set()},
                         {"chunk_count", f.info.chunk_count()}, {"size", f.info.size},
                         {"uploaded_bytes", f.uploaded_bytes}, {"changed", f.changed}});
      }
      nlohmann::json gets = nlohmann::json::array();
      for (const auto& [out, d] : downloads) gets.push_back(d->Progress());
      nlohmann::json banned = nlohmann::json::array();
      for (const Ban& b : bans.Active(loop.clock().now())) banned.push_back(BanJson(b, loop.clock().now()));
      const double rate = upload_rate.PerSecond();
      return {{"ok", true}, {"pid", ::getpid()}, {"peer_id", PeerIdHex(*self)}, {"listen", bound->ToString()},
              {"coordinator", coordinator->ToString()}, {"coordinator_connected", link->connected()},
              {"state_dir", paths.dir}, {"connections", pool.size()},
              {"refused_connections", pool.refused()},
              {"uploaded_bytes", ctx->uploaded_bytes}, {"upload_rate_bytes_per_second", static_cast<std::uint64_t>(rate)},
              {"files", std::move(files)}, {"downloads", std::move(gets)}, {"bans", std::move(banned)}};
    }
    if (cmd == "get") return start_get(req);
    if (cmd == "progress" || cmd == "cancel") {
      auto it = downloads.find(req.value("out", ""));
      if (it == downloads.end()) return {{"ok", false}, {"error", "no download to " + req.value("out", "")}};
      if (cmd == "cancel") it->second->Cancel(Status::IOError("cancelled; the .partial is kept for a later resume"));
      nlohmann::json p = it->second->Progress();
      p["ok"] = true;
      return p;
    }
    if (cmd == "share") {
      SharedFile f;
      f.path = req.value("path", "");
      f.fileinfo_path = req.value("fileinfo", "");
      auto info = LoadFileInfo(f.fileinfo_path);
      if (!info.ok()) return {{"ok", false}, {"error", info.status().message()}};
      f.info = std::move(*info);
      // Every chunk is held except those listed as missing (the CLI verified them).
      f.verified = Bitfield(f.info.chunk_count(), true);
      for (std::uint32_t i : req.value("missing", std::vector<std::uint32_t>())) {
        if (i < f.info.chunk_count()) f.verified.clear(i);
      }
      f.disk_size = req.value("size", std::int64_t{-1});
      f.disk_mtime_ns = req.value("mtime_ns", std::int64_t{-1});
      if (Status s = CheckOnDisk(f); !s.ok()) {
        return {{"ok", false}, {"error", s.message() + "; share it again once it is still"}};
      }
      ctx->Close(f.info.id);  // a re-share of the same id may point at another path
      const std::string id = f.info.id.ToHex();
      const char* state = StateName(f.state());
      spdlog::info("sharing {} ({}, {} of {} chunks)", f.path, state, f.verified.count_set(), f.info.chunk_count());
      // Chunks held now but not before (a repaired copy shared again) are
      // announced to every connection that has the file open.
      std::vector<std::uint32_t> gained;
      if (const SharedFile* old = ctx->registry.Find(f.info.id); old != nullptr && !old->changed) {
        for (std::uint32_t i = 0; i < f.info.chunk_count(); ++i) {
          if (f.verified.has(i) && !old->verified.has(i)) gained.push_back(i);
        }
      }
      const FileId file_id = f.info.id;
      ctx->registry.Put(std::move(f));
      if (const SharedFile* now = ctx->registry.Find(file_id)) ctx->TrackSpread(*now);
      for (std::uint32_t i : gained) ctx->BroadcastHave(file_id, i);
      save();
      link->ReportNow();
      return {{"ok", true}, {"id", id}, {"state", state}};
    }
    if (cmd == "unshare") {
      const std::string target = req.value("target", "");
      std::vector<FileId> ids;
      for (const SharedFile& f : ctx->registry.files()) {
        if (f.info.id.ToHex() == target || f.path == target || f.fileinfo_path == target) ids.push_back(f.info.id);
      }
      if (!ctx->registry.Remove(target)) return {{"ok", false}, {"error", "not shared: " + target}};
      for (const FileId& id : ids) ctx->Close(id);
      spdlog::info("stopped sharing {}", target);
      save();
      link->ReportNow();
      return {{"ok", true}};
    }
    if (cmd == "stop") {
      if (!stopping) {
        stopping = true;
        spdlog::info("stop requested over the control socket");
        // Let this reply leave before the loop stops.
        loop.AddTimer(std::chrono::milliseconds(50), [&] { loop.Stop(); });
      }
      return {{"ok", true}};
    }
    return {{"ok", false}, {"error", "unknown command '" + cmd + "'"}};
  });
  if (!control.ok()) return control;

  net::StopOnSignals(loop);

  link->Start();
  if (options.get) {
    nlohmann::json r = start_get(*options.get);
    if (!r.value("ok", false)) return Status::InvalidArgument(r.value("error", "cannot start the download"));
  }
  spdlog::info("serving on {}, reporting to {} every {} s, state dir {} (io_uring {})", bound->ToString(),
               coordinator->ToString(), config.report_interval.count(), paths.dir, loop.ring_mode());
  ready(bound->ToString());
  Status run = loop.Run();
  net::ClearStopOnSignals();
  save();
  ::unlink(paths.socket.c_str());
  link.reset();
  spdlog::info("stopped");
  return run;
}

}  // namespace lanswarm::peer
