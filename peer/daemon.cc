#include "peer/daemon.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include <fmt/format.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "common/auth/identity.h"
#include "common/file_util.h"
#include "common/hex.h"
#include "common/net/stop_signals.h"
#include "common/sodium_init.h"
#include "common/units.h"
#include "peer/control.h"
#include "peer/daemon_impl.h"
#include "peer/state_dir.h"

namespace lanswarm::peer {

// Holds the exclusive lock on the pid file for the daemon's lifetime.
class PidLock {
 public:
  static Result<PidLock> Acquire(const StatePaths& paths) {
    auto opened = OpenStateFile(paths.pid, O_RDWR);
    if (!opened.ok()) return opened.status();
    const int fd = *opened;
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

StatePaths::StatePaths(const std::string& d)
    : dir(d), pid(d + "/peer.pid"), socket(d + "/control.sock"), registry(d + "/registry.json"),
      identity(d + "/identity.key"), log(d + "/peer.log") {}

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

Daemon::Daemon(const Config& config, const DaemonOptions& options, StatePaths paths)
    : config_(config), options_(options), paths_(std::move(paths)) {}

Daemon::~Daemon() = default;

Result<std::unique_ptr<Daemon>> Daemon::Create(const Config& config, const DaemonOptions& options) {
  std::unique_ptr<Daemon> d(
      new Daemon(config, options, StatePaths(config.state_dir.empty() ? DefaultStateDir() : config.state_dir)));
  LANSWARM_RETURN_IF_ERROR(d->Setup());
  return d;
}

Status Daemon::Setup() {
  auto prepared = PrepareStateDir(paths_.dir);
  if (!prepared.ok()) return prepared.status();
  if (*prepared) spdlog::warn("{}", **prepared);
  auto lock = PidLock::Acquire(paths_);
  if (!lock.ok()) return lock.status();
  lock_ = std::make_unique<PidLock>(std::move(*lock));
  LANSWARM_RETURN_IF_ERROR(InitSodium());
  auto keys = auth::KeyRing::FromConfig(config_.auth);
  if (!keys.ok()) return keys.status();
  auto shared_keys = std::make_shared<const auth::KeyRing>(std::move(*keys));
  // A daemon left running says so; a one-off `peer get` does not nag.
  if (!shared_keys->enabled() && !options_.get) {
    spdlog::warn("no [auth] cluster key: anyone who can reach {} may download every file shared here "
                 "(doc/security.md)", config_.listen);
  }
  // The key pair the peer id comes from (a peer.id left by an older
  // version is superseded: ids are no longer chosen, but derived).
  auto identity = auth::Identity::LoadOrCreate(paths_.identity);
  if (!identity.ok()) return identity.status();
  auto self = std::make_shared<const auth::Identity>(std::move(*identity));
  auto listen = net::SocketAddress::Parse(config_.listen);
  if (!listen.ok()) return listen.status().Prefixed("listen");
  auto coordinator = net::SocketAddress::Parse(config_.coordinator);
  if (!coordinator.ok()) return coordinator.status().Prefixed("coordinator");
  coordinator_ = *coordinator;

  std::vector<std::string> warnings;
  auto registry = Registry::Load(paths_.registry, &warnings);
  if (!registry.ok()) return registry.status();
  for (const auto& w : warnings) spdlog::warn("{}", w);
  node_ = std::make_unique<Node>(config_, self, shared_keys, paths_.registry, std::move(*registry));

  net::LoopOptions loop_options;
  loop_options.send_latency = config_.simulated_latency;
  auto loop = net::Loop::Create(loop_options);
  if (!loop.ok()) return loop.status();
  loop_ = std::move(*loop);

  serving_ = std::make_shared<ServeContext>(loop_->clock(), config_, node_->registry());
  node_->SetEvents(this);
  node_->ShareConfigured();
  node_->CheckDisk();
  node_->Save();
  serving_->on_changed = [this](SharedFile& f, const Status& why) {
    node_->StopServing(f, why);
    node_->Save();
    ReportNow();
  };

  net::SessionOptions serving;
  serving.keys = shared_keys;
  serving.identity = self;
  serving.hello = proto::MakeHello(proto::Role::kPeer, self->peer_id());
  serving.max_payload = config_.limits.max_message_bytes;
  const Config::Limits& l = config_.limits;
  std::weak_ptr<ServeContext> weak = serving_;
  pool_ = std::make_unique<net::SessionPool>(
      *loop_, serving,
      net::PoolLimits{.max_connections = l.max_connections,
                      .max_connections_per_address = l.max_connections_per_address,
                      .max_unauthenticated = l.max_unauthenticated,
                      .hello_timeout = l.hello_timeout,
                      .idle_timeout = l.idle_timeout},
      [weak](const net::SocketAddress&) -> std::unique_ptr<net::SessionHandler> {
        auto c = weak.lock();
        if (!c) return nullptr;
        return std::make_unique<ServeSession>(c);
      });
  auto bound = pool_->Listen(*listen);
  if (!bound.ok()) return bound.status();
  bound_ = *bound;
  link_ = std::make_unique<CoordinatorLink>(*loop_, coordinator_, self, shared_keys, config_.report_interval,
                                            [this] {
                                              return BuildReport(node_->registry(), bound_.port(),
                                                                 upload_capacity_.bytes_per_second());
                                            });
  StartTimers();
  return StartControlServer(*loop_, paths_.socket, [this](const nlohmann::json& req) { return Dispatch(req); });
}

void Daemon::StartTimers() {
  loop_->AddPeriodic(config_.report_interval, [this] {
    if (node_->CheckDisk()) ReportNow();
  });
  // Housekeeping once a second: the upload rate's sample, the uplink's
  // (a report at once when it grew: the coordinator's trees use it), bans
  // whose cool-down is over (the pool enforces the serving timeouts itself).
  loop_->AddPeriodic(std::chrono::seconds(1), [this] {
    const Clock::TimePoint now = loop_->clock().now();
    upload_rate_.Add(now, serving_->uploaded_bytes);
    serving_->RunGrants();  // grants unused for UploadOptions::grant_timeout lapse
    if (serving_->grants && upload_capacity_.Sample(serving_->uploaded_bytes, serving_->grants->busy_time())) {
      spdlog::info("uplink measured at {}/s while sending; reporting it",
                   FormatBytes(upload_capacity_.bytes_per_second()));
      ReportNow();
    }
    for (const Ban& b : node_->bans().Expire(now)) {
      spdlog::info("the ban of peer {} for {} has ended", b.address, b.file_name);
    }
  });
  if (options_.on_progress) {
    loop_->AddPeriodic(std::chrono::milliseconds(250), [this] {
      for (const auto& [out, d] : downloads_) {
        if (!d->finished()) options_.on_progress(d->Progress());
      }
    });
  }
}

Status Daemon::Run(const std::function<void(const std::string&)>& ready) {
  net::StopOnSignals(*loop_);
  link_->Start();
  if (options_.get) {
    nlohmann::json r = CmdGet(*options_.get);
    if (!r.value("ok", false)) {
      net::ClearStopOnSignals();
      return Status::InvalidArgument(r.value("error", "cannot start the download"));
    }
  }
  spdlog::info("serving on {}, reporting to {} every {} s, state dir {} (io_uring {})", bound_.ToString(),
               coordinator_.ToString(), config_.report_interval.count(), paths_.dir, loop_->ring_mode());
  ready(bound_.ToString());
  Status run = loop_->Run();
  net::ClearStopOnSignals();
  node_->Save();
  ::unlink(paths_.socket.c_str());
  link_.reset();
  spdlog::info("stopped");
  return run;
}

nlohmann::json Daemon::Dispatch(const nlohmann::json& request) {
  const std::string cmd = request.value("cmd", "");
  const auto it = kCommands.find(cmd);
  if (it == kCommands.end()) return {{"ok", false}, {"error", "unknown command '" + cmd + "'"}};
  return (this->*(it->second))(request);
}

// ---- NodeEvents ----

void Daemon::OnChunkGained(const FileId& id, std::uint32_t index) { serving_->BroadcastHave(id, index); }
void Daemon::OnFileReset(const FileId& id) { serving_->Close(id); }
void Daemon::OnFileShared(const SharedFile& f) { serving_->TrackSpread(f); }
void Daemon::ReportNow() {
  if (link_) link_->ReportNow();
}

Status RunDaemon(const Config& config, const std::function<void(const std::string&)>& ready,
                 const DaemonOptions& options) {
  auto d = Daemon::Create(config, options);
  if (!d.ok()) return d.status();
  return (*d)->Run(ready);
}

}  // namespace lanswarm::peer
