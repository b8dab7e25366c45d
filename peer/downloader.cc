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
constexpr auto kTick = std::chrono::milliseconds(100);
constexpr auto kConnectTimeout = std::chrono::seconds(5);
// Mixed into the request's seed so that the holder shuffle and the picker's
// tie-break, which get the same seed, do not draw the same numbers.
constexpr std::uint64_t kHolderSeedMix = 0x9e3779b97f4a7c15ULL;

double Seconds(Clock::Duration d) { return std::chrono::duration<double>(d).count(); }

// The local wall-clock time `left` from now, as HH:MM:SS, for people.
std::string WallClockIn(Clock::Duration left) {
  const auto at = std::chrono::system_clock::now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(left);
  return fmt::format("{:%H:%M:%S}", fmt::localtime(std::chrono::system_clock::to_time_t(at)));
}
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
      state_(info_->chunk_count(), RequestTimeout(info_->chunk_size),
             DownloadOptions{.seed = request_.seed, .pipeline = PipelineFor(info_->chunk_size)}),
      holders_(env_.node->self(), request_.max_peers, request_.seed ^ kHolderSeedMix),
      receiving_(info_->chunk_count(), 0),
      overlapped_(info_->chunk_count(), 0) {}

Downloader::~Downloader() {
  if (tick_timer_) env_.loop->CancelTimer(tick_timer_);
  CloseSessions();
  if (fd_ >= 0) ::close(fd_);
}

void Downloader::Begin() {
  started_ = idle_since_ = now();
  const ChunkLayout layout = info_->layout();
  for (std::uint32_t i = 0; i < info_->chunk_count(); ++i) {
    if (!request_.held.has(i)) continue;
    state_.MarkVerified(i);
    bytes_verified_ += layout.length(i);
    ++resumed_chunks_;
  }
  // Serve what we have while we fetch the rest.
  env_.node->BeginDownload(PartialPath(request_.out), request_.fileinfo_path, *info_, request_.held);
  spdlog::info("downloading {} to {} ({}, {} chunks, {} already held)", info_->name, request_.out,
               FormatBytes(info_->size), info_->chunk_count(), resumed_chunks_);

  std::weak_ptr<Downloader> weak = weak_from_this();
  if (state_.complete()) {
    env_.loop->AddTimer(Clock::Duration::zero(), [weak] {
      if (auto d = weak.lock()) d->Finish(Status::Ok());
    });
    return;
  }
  tick_timer_ = env_.loop->AddPeriodic(kTick, [weak] {
    if (auto d = weak.lock()) d->Tick();
  });
  Query();
}

void Downloader::Tick() {
  if (finished_) return;
  const Clock::TimePoint t = now();
  for (const Stall& stall : state_.Tick(t)) {
    // Dropped either way: banned when this stall is one too many.
    if (Strike(stall.peer, BanReason::kStalls)) continue;
    const bool open = stall.kind == Stall::Kind::kOpen;
    DropPeer(stall.peer, fmt::format("{} within {:.0f} s", open ? "no answer to OPEN" : "no chunk from it",
                                     Seconds(open ? kOpenTimeout : RequestTimeout(info_->chunk_size))));
  }
  // A slow holder's waiting requests go to faster ones; it keeps the chunk
  // it is sending.
  for (const Download::Moved& m : state_.Rebalance(t)) {
    FetchSession* session = SessionOf(m.peer);
    if (session == nullptr) continue;
    for (std::uint32_t index : m.chunks) session->Cancel(index);
    spdlog::debug("{} is slow: {} of its requests moved to faster holders", HolderName(m.peer), m.chunks.size());
  }
  rate_.Add(t, bytes_verified_);

  // A peer that only answers with REJECTs, or holds nothing we need, is
  // connected but of no use: only arriving data counts (OnFetchPiece).
  state_name_ = state_.active_peers() > 0 ? "downloading" : "waiting";
  if (t - idle_since_ >= request_.holder_timeout) {
    return Finish(Status::NotFound(fmt::format("gave up on {} after {} s without data: {}", info_->name,
                                               request_.holder_timeout.count(), holders_.GiveUpReason())));
  }
  if (holders_.QueryDue(t)) Query();
  ConnectMore();
  PumpAll();
}

void Downloader::Query() {
  holders_.OnQuerySent(now());
  std::weak_ptr<Downloader> weak = weak_from_this();
  env_.link->Query(info_->id, [weak](Result<std::vector<proto::Holder>> r) {
    if (auto d = weak.lock()) d->OnHolders(std::move(r));
  });
}

void Downloader::OnHolders(Result<std::vector<proto::Holder>> holders) {
  if (finished_) return;
  const Status answer = holders.ok() ? Status::Ok() : holders.status();
  if (!answer.ok() && holders_.query_error().empty()) {
    spdlog::warn("asking for holders of {}: {}", info_->name, answer.message());
  }
  holders_.OnQueryAnswered(answer, state_.active_peers(), now());
  if (!answer.ok()) return;
  holders_.OnHolders(*holders);
  ConnectMore();
}

void Downloader::ConnectMore() {
  if (finished_) return;
  const Clock::TimePoint t = now();
  const auto banned = [&](const proto::PeerId& id) { return env_.node->bans().Banned(info_->id, id, t); };
  std::weak_ptr<FetchEvents> weak = std::static_pointer_cast<FetchEvents>(shared_from_this());
  for (PeerKey key : holders_.NextToConnect(t, banned)) {
    holders_.OnConnecting(key);
    const HolderSet::Holder& h = *holders_.Find(key);
    FetchSession::Start(*env_.loop, net::SocketAddress::FromEndpoint(h.endpoint), kConnectTimeout,
                        std::make_unique<FetchSession>(weak, key, h.id, env_.node->identity(), env_.node->keys(), info_));
  }
}

void Downloader::PumpAll() {
  if (finished_) return;
  for (PeerKey key : state_.PumpOrder()) Pump(key);
}

void Downloader::Pump(PeerKey key) {
  FetchSession* session = SessionOf(key);
  if (finished_ || session == nullptr) return;
  std::vector<std::uint32_t> next = state_.Next(key, now());
  if (!next.empty()) session->Request(next);
}

void Downloader::OnFetchConnected(PeerKey key, FetchSession* session) {
  if (finished_) return session->Close(Status::Ok());  // a connect that outlived the download
  sessions_[key] = session;
  holders_.OnConnected(key);
  state_.AddPeer(key, now());
}

void Downloader::OnFetchBitfield(PeerKey key, const Bitfield& has) {
  state_.OnBitfield(key, has);
  spdlog::debug("{} holds {} of {} chunks", HolderName(key), has.count_set(), has.size());
  Pump(key);
}

void Downloader::OnFetchHave(PeerKey key, std::uint32_t index) {
  // Only this peer has something new to offer: HAVEs arrive from every
  // peer for every chunk, so pumping them all here would cost the most.
  state_.OnHave(key, index);
  Pump(key);
}

bool Downloader::OnFetchChunkStart(PeerKey key, std::uint32_t index) {
  if (finished_ || !state_.Wanted(index)) return false;
  if (receiving_[index]++ > 0) overlapped_[index] = 1;
  current_[key] = index;
  return true;
}

bool Downloader::OnFetchPiece(PeerKey key, std::uint32_t index, std::uint32_t offset, const std::uint8_t* data,
                              std::size_t len) {
  if (finished_) return false;
  bytes_received_ += len;
  idle_since_ = now();  // data for a chunk we need: a usable holder
  if (!state_.Wanted(index)) {
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
  if (good) OnGoodChunk(key);
  // The stream matched, but an endgame twin may have written over parts of
  // it on disk: check what the disk holds.
  if (good && overlapped_[index]) {
    overlapped_[index] = receiving_[index] > 0;
    const Result<bool> same = ChunkOnDiskMatches(fd_, *info_, index);
    if (!same.ok()) spdlog::debug("rechecking {}: {}", PartialPath(request_.out), same.status().message());
    if (!same.ok() || !*same) {
      // This peer's bytes were right; the other copy's were not. Fetch it
      // again without counting it against this peer.
      state_.Requeue(key, index, now());
      return PumpAll();
    }
  }
  const Download::Verdict v = state_.OnChunk(key, index, good, now());
  if (!good) {
    spdlog::warn("chunk {} of {} from {} failed its checksum; fetching it again", index, info_->name, HolderName(key));
    Strike(key, BanReason::kBadChunks);
  }
  if (v.verified) {
    Verified(index);
    for (PeerKey loser : v.cancel) {
      if (FetchSession* session = SessionOf(loser)) session->Cancel(index);
    }
    if (state_.complete()) return Finish(Status::Ok());
  }
  PumpAll();
}

void Downloader::Verified(std::uint32_t index) {
  bytes_verified_ += info_->layout().length(index);
  env_.node->ChunkVerified(info_->id, index);
}

void Downloader::OnFetchReject(PeerKey key, std::uint32_t index, proto::RejectReason why) {
  if (finished_) return;
  if (index == proto::kWholeFile) {
    holders_.NoteProblem(key, HolderName(key) + " does not serve the file");
    DropPeer(key, "it does not serve this file");
    return;
  }
  if (why == proto::RejectReason::kElsewhere) {
    state_.OnDeferred(key, index, now());
  } else {
    state_.OnReject(key, index, now());
  }
  if (why == proto::RejectReason::kChanged) DropPeer(key, "its copy changed on disk");
  PumpAll();
}

void Downloader::StopReceiving(PeerKey key) {
  if (auto it = current_.find(key); it != current_.end()) {
    --receiving_[it->second];
    current_.erase(it);
  }
}

void Downloader::OnFetchClosed(PeerKey key, const Status& why) {
  StopReceiving(key);
  if (holders_.Find(key) == nullptr) return;
  const bool was_connected = SessionOf(key) != nullptr;
  sessions_[key] = nullptr;
  if (finished_) return;
  state_.OnPeerGone(key);
  holders_.OnClosed(key, why, now());
  if (was_connected) {
    spdlog::info("lost {} while downloading {}: {}", HolderName(key), info_->name, why.ok() ? "closed" : why.message());
  } else {
    spdlog::debug("cannot connect to {}: {}", HolderName(key), why.message());
  }
  PumpAll();
}

void Downloader::DropPeer(PeerKey key, const std::string& why) {
  FetchSession* session = SessionOf(key);
  if (session == nullptr) return;
  spdlog::warn("dropping {} from the download of {}: {}", HolderName(key), info_->name, why);
  holders_.NoteProblem(key, why);
  session->Close(Status::IOError(why));
}

bool Downloader::Strike(PeerKey key, BanReason kind) {
  const HolderSet::Holder* h = holders_.Find(key);
  if (h == nullptr) return false;
  const Clock::TimePoint t = now();
  const std::string address = AddressOf(key);
  BanList& bans = env_.node->bans();
  const auto ban = kind == BanReason::kStalls ? bans.OnStall(info_->id, h->id, info_->name, address, t)
                                              : bans.OnBadChunk(info_->id, h->id, info_->name, address, t);
  if (!ban) return false;
  state_.Ban(key);
  // The one warn line for the ban (the close that follows is logged at info).
  const std::string why = BanCause(*ban);
  spdlog::warn("banned peer {} for {}: {}; not used for this file until {} (for {})", address, info_->name, why,
               WallClockIn(ban->until - t), FormatSeconds(Seconds(ban->until - t)));
  const std::string problem = "banned: " + why;
  holders_.NoteProblem(key, problem);
  if (FetchSession* session = SessionOf(key)) session->Close(Status::IOError(problem));
  return true;
}

void Downloader::OnGoodChunk(PeerKey key) {
  const HolderSet::Holder* h = holders_.Find(key);
  if (h == nullptr) return;
  holders_.OnGoodChunk(key);
  env_.node->bans().OnGoodChunk(info_->id, h->id);
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

std::string Downloader::AddressOf(PeerKey key) const {
  const HolderSet::Holder* h = holders_.Find(key);
  return h == nullptr ? "?" : net::SocketAddress::FromEndpoint(h->endpoint).ToString();
}

std::string Downloader::HolderName(PeerKey key) const { return "peer " + AddressOf(key); }

void Downloader::Cancel(const Status& why) { Finish(why); }

void Downloader::Finish(const Status& why) {
  if (finished_) return;
  finished_ = true;
  result_ = why;
  elapsed_at_finish_ = Seconds(now() - started_);
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
  state_name_ = result_.ok() ? "done" : "failed";
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
  const double elapsed = finished_ ? elapsed_at_finish_ : Seconds(now() - started_);
  const std::uint64_t left = info_->size - std::min(info_->size, bytes_verified_);
  const DownloadStats& st = state_.stats();
  nlohmann::json j = {{"id", info_->id.ToHex()},
                      {"name", info_->name},
                      {"out", request_.out},
                      {"state", state_name_},
                      {"size", info_->size},
                      {"chunk_count", info_->chunk_count()},
                      {"chunks_verified", state_.verified_count()},
                      {"resumed_chunks", resumed_chunks_},
                      {"bytes_verified", bytes_verified_},
                      {"bytes_received", bytes_received_},
                      {"rate_bytes_per_second", static_cast<std::uint64_t>(rate)},
                      {"eta_seconds", rate > 0 ? static_cast<double>(left) / rate : -1.0},
                      {"elapsed_seconds", elapsed},
                      {"peers_active", state_.active_peers()},
                      {"holders_known", holders_.size()},
                      {"retries", st.retries},
                      {"checksum_failures", st.checksum_failures},
                      {"rejects", st.rejects},
                      {"deferred", st.deferred},
                      {"timeouts", st.timeouts},
                      {"late_probes", st.late_probes},
                      {"banned_peers", st.banned_peers},
                      {"reassigned", st.reassigned}};
  if (!result_.ok()) j["error"] = result_.message();
  if (!holders_.query_error().empty()) j["coordinator_error"] = holders_.query_error();
  return j;
}

}  // namespace lanswarm::peer
