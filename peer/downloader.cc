#include "peer/downloader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/units.h"
#include "peer/storage.h"

namespace lanswarm::peer {

namespace {
constexpr auto kConnectTimeout = std::chrono::seconds(5);

}  // namespace

Result<std::shared_ptr<Downloader>> Downloader::Start(const DownloadEnv& env, GetRequest request, DoneFn done) {
  auto loaded = LoadFileInfo(request.fileinfo_path);
  if (!loaded.ok()) return loaded.status();
  auto info = std::make_shared<const FileInfo>(std::move(*loaded));
  const std::string partial = PartialPath(request.out);
  auto opened = OpenPartial(partial, request.partial_identity);
  if (!opened.ok()) return opened.status();
  const int fd = *opened;
  struct stat st;
  if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != info->size) {
    ::close(fd);
    return Status::InvalidArgument(fmt::format("{} is not reserved at {} bytes; run peer get again", partial, info->size));
  }
  if (request.held.size() != info->chunk_count()) request.held = Bitfield(info->chunk_count());
  std::shared_ptr<Downloader> d(new Downloader(env, std::move(request), std::move(info), fd, std::move(done)));
  d->Begin();
  return d;
}

Downloader::Downloader(const DownloadEnv& env, GetRequest request, std::shared_ptr<const FileInfo> info, int fd,
                       DoneFn done)
    : env_(env),
      request_(std::move(request)),
      info_(std::move(info)),
      fd_(fd),
      done_(std::move(done)),
      driver_(DriverOptions{.file = info_->id,
                            .file_name = info_->name,
                            .chunk_count = info_->chunk_count(),
                            .chunk_size = info_->chunk_size,
                            .max_peers = request_.max_peers,
                            .seed = request_.seed,
                            .holder_timeout = request_.holder_timeout},
              env_.node->self(), env_.node->bans(), *this),
      receiving_(info_->chunk_count(), 0),
      overlapped_(info_->chunk_count(), 0) {}

Downloader::~Downloader() {
  if (tick_timer_) env_.loop->CancelTimer(tick_timer_);
  CloseSessions();
  if (fd_ >= 0) ::close(fd_);
}

void Downloader::Begin() {
  started_ = now();
  const ChunkLayout layout = info_->layout();
  for (std::uint32_t i = 0; i < info_->chunk_count(); ++i) {
    if (!request_.held.has(i)) continue;
    driver_.MarkVerified(i);
    bytes_verified_ += layout.length(i);
    ++resumed_chunks_;
  }
  // Serve what we have while we fetch the rest.
  env_.node->BeginDownload(PartialPath(request_.out), request_.fileinfo_path, *info_, request_.held);
  spdlog::info("downloading {} to {} ({}, {} chunks, {} already held)", info_->name, request_.out,
               FormatBytes(info_->size), info_->chunk_count(), resumed_chunks_);

  std::weak_ptr<Downloader> weak = weak_from_this();
  if (driver_.state().complete()) {
    // Not from inside Start: the caller has not seen the downloader yet.
    env_.loop->AddTimer(Clock::Duration::zero(), [weak] {
      if (auto d = weak.lock()) d->Finish(Status::Ok());
    });
    return;
  }
  tick_timer_ = env_.loop->AddPeriodic(DownloadDriver::kTick, [weak] {
    if (auto d = weak.lock(); d && !d->finished_) {
      d->rate_.Add(d->now(), d->bytes_verified_);
      d->driver_.Tick(d->now());
    }
  });
  driver_.Start(now());
}

void Downloader::Query() {
  std::weak_ptr<Downloader> weak = weak_from_this();
  env_.link->Query(info_->id, [weak](Result<std::vector<proto::Holder>> r) {
    if (auto d = weak.lock()) d->OnHolders(std::move(r));
  });
}

void Downloader::OnHolders(Result<std::vector<proto::Holder>> holders) {
  if (!finished_) driver_.OnHolders(holders, now());
}

void Downloader::Connect(PeerKey key, const HolderSet::Holder& h) {
  std::weak_ptr<FetchEvents> weak = std::static_pointer_cast<FetchEvents>(shared_from_this());
  FetchSession::Start(*env_.loop, net::SocketAddress::FromEndpoint(h.endpoint), kConnectTimeout,
                      std::make_unique<FetchSession>(weak, key, h.id, env_.node->identity(), env_.node->keys(), info_));
}

void Downloader::Request(PeerKey key, const std::vector<std::uint32_t>& chunks) {
  if (FetchSession* session = SessionOf(key)) session->Request(chunks);
}

void Downloader::CancelRequest(PeerKey key, std::uint32_t index) {
  if (FetchSession* session = SessionOf(key)) session->Cancel(index);
}

void Downloader::Interest(PeerKey key, std::uint8_t flags) {
  if (FetchSession* session = SessionOf(key)) session->Interest(flags);
}

void Downloader::Close(PeerKey key, const Status& why) {
  if (FetchSession* session = SessionOf(key)) session->Close(why);
}

void Downloader::OnFetchConnected(PeerKey key, FetchSession* session) {
  if (finished_) return session->Close(Status::Ok());  // a connect that outlived the download
  sessions_[key] = session;
  driver_.OnConnected(key, now());
}

void Downloader::OnFetchBitfield(PeerKey key, const Bitfield& has, bool gated) {
  driver_.OnBitfield(key, has, now(), gated);
}

void Downloader::OnFetchGrant(PeerKey key) { driver_.OnGrant(key, now()); }

void Downloader::OnFetchHave(PeerKey key, std::uint32_t index) { driver_.OnHave(key, index, now()); }

bool Downloader::OnFetchChunkStart(PeerKey key, std::uint32_t index) {
  if (finished_ || !driver_.Wanted(index)) return false;
  if (receiving_[index]++ > 0) overlapped_[index] = 1;
  current_[key] = index;
  return true;
}

bool Downloader::OnFetchPiece(PeerKey key, std::uint32_t index, std::uint32_t offset, const std::uint8_t* data,
                              std::size_t len) {
  if (finished_) return false;
  bytes_received_ += len;
  driver_.OnData(key, len, now());  // data for a chunk we need: a usable holder
  if (!driver_.Wanted(index)) {
    // Another copy won the endgame: stop writing this one.
    StopReceiving(key);
    return false;
  }
  const std::uint64_t at = info_->layout().offset(index) + offset;
  if (Status s = WritePiece(fd_, PartialPath(request_.out), at, data, len); !s.ok()) {
    Finish(s);
    return false;
  }
  return true;
}

void Downloader::OnFetchChunkDone(PeerKey key, std::uint32_t index, bool good) {
  StopReceiving(key);
  if (finished_) return;
  // The stream matched, but an endgame twin may have written over parts of
  // it on disk: check what the disk holds.
  if (good && overlapped_[index]) {
    overlapped_[index] = receiving_[index] > 0;
    const Result<bool> same = ChunkOnDiskMatches(fd_, *info_, index);
    if (!same.ok()) spdlog::debug("rechecking {}: {}", PartialPath(request_.out), same.status().message());
    if (!same.ok() || !*same) return driver_.OnSpoiled(key, index, now());
  }
  driver_.OnChunk(key, index, good, now());
}

void Downloader::Verified(std::uint32_t index) {
  bytes_verified_ += info_->layout().length(index);
  env_.node->ChunkVerified(info_->id, index);
}

void Downloader::OnFetchReject(PeerKey key, std::uint32_t index, proto::RejectReason why) {
  if (!finished_) driver_.OnReject(key, index, why, now());
}

void Downloader::StopReceiving(PeerKey key) {
  if (auto it = current_.find(key); it != current_.end()) {
    --receiving_[it->second];
    current_.erase(it);
  }
}

void Downloader::OnFetchClosed(PeerKey key, const Status& why) {
  StopReceiving(key);
  const bool was_connected = SessionOf(key) != nullptr;
  if (sessions_.count(key)) sessions_[key] = nullptr;
  if (!finished_) driver_.OnClosed(key, why, was_connected, now());
}

void Downloader::CloseSessions() {
  for (const auto& [key, session] : sessions_) {
    if (session != nullptr) session->Close(Status::Ok());
  }
}

FetchSession* Downloader::SessionOf(PeerKey key) const {
  auto it = sessions_.find(key);
  return it == sessions_.end() ? nullptr : it->second;
}

void Downloader::Cancel(const Status& why) {
  driver_.Stop();
  Finish(why);
}

void Downloader::Finish(const Status& why) {
  if (finished_) return;
  finished_ = true;
  driver_.Stop();
  result_ = why;
  elapsed_at_finish_ = ToSeconds(now() - started_);
  if (tick_timer_) env_.loop->CancelTimer(tick_timer_);
  tick_timer_ = 0;
  CloseSessions();
  if (result_.ok()) {
    const std::string partial = PartialPath(request_.out);
    result_ = CommitPartial(fd_, partial, request_.out);
    if (result_.ok()) env_.node->CommitDownload(info_->id, request_.out);
  }
  ::close(fd_);
  fd_ = -1;
  if (result_.ok()) {
    spdlog::info("downloaded {} to {} in {:.1f} s", info_->name, request_.out, elapsed_at_finish_);
  } else {
    spdlog::info("download of {} stopped: {}", info_->name, result_.message());
  }
  // Not from inside a session's callback: `done` may destroy this.
  std::weak_ptr<Downloader> weak = weak_from_this();
  env_.loop->AddTimer(Clock::Duration::zero(), [weak] {
    if (auto d = weak.lock(); d && d->done_) {
      DoneFn done = std::move(d->done_);
      done(d->result_);
    }
  });
}

nlohmann::json Downloader::Progress() const {
  const double rate = rate_.PerSecond();
  const double elapsed = finished_ ? elapsed_at_finish_ : ToSeconds(now() - started_);
  const std::uint64_t left = info_->size - std::min(info_->size, bytes_verified_);
  const Download& state = driver_.state();
  const HolderSet& holders = driver_.holders();
  const DownloadStats& st = state.stats();
  const char* phase = !finished_ ? driver_.phase() : result_.ok() ? "done" : "failed";
  nlohmann::json j = {{"id", info_->id.ToHex()},
                      {"name", info_->name},
                      {"out", request_.out},
                      {"state", phase},
                      {"size", info_->size},
                      {"chunk_count", info_->chunk_count()},
                      {"chunks_verified", state.verified_count()},
                      {"resumed_chunks", resumed_chunks_},
                      {"bytes_verified", bytes_verified_},
                      {"bytes_received", bytes_received_},
                      {"rate_bytes_per_second", static_cast<std::uint64_t>(rate)},
                      {"eta_seconds", rate > 0 ? static_cast<double>(left) / rate : -1.0},
                      {"elapsed_seconds", elapsed},
                      {"peers_active", state.active_peers()},
                      {"holders_known", holders.size()},
                      {"retries", st.retries},
                      {"checksum_failures", st.checksum_failures},
                      {"rejects", st.rejects},
                      {"deferred", st.deferred},
                      {"timeouts", st.timeouts},
                      {"late_probes", st.late_probes},
                      {"banned_peers", st.banned_peers},
                      {"reassigned", st.reassigned}};
  if (!result_.ok()) j["error"] = result_.message();
  if (!holders.query_error().empty()) j["coordinator_error"] = holders.query_error();
  return j;
}

}  // namespace lanswarm::peer
