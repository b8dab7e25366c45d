#include "peer/download_driver.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/net/socket_address.h"
#include "common/units.h"

namespace lanswarm::peer {

namespace {
// Mixed into the seed so that the holder shuffle and the picker's
// tie-break, which get the same seed, do not draw the same numbers.
constexpr std::uint64_t kHolderSeedMix = 0x9e3779b97f4a7c15ULL;


// The local wall-clock time `left` from now, as HH:MM:SS, for people.
std::string WallClockIn(Clock::Duration left) {
  const auto at = std::chrono::system_clock::now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(left);
  return fmt::format("{:%H:%M:%S}", fmt::localtime(std::chrono::system_clock::to_time_t(at)));
}
}  // namespace

DownloadDriver::DownloadDriver(const DriverOptions& options, const PeerId& self, BanList& bans,
                               DriverActions& actions)
    : options_(options),
      bans_(bans),
      actions_(actions),
      state_(options.chunk_count, RequestTimeout(options.chunk_size),
             DownloadOptions{.seed = options.seed,
                             .pipeline = PipelineFor(options.chunk_size),
                             .max_incoming = options.max_incoming}),
      holders_(self, options.max_peers, options.seed ^ kHolderSeedMix) {}

void DownloadDriver::Start(Clock::TimePoint now) {
  idle_since_ = now;
  if (state_.complete()) return Finish(Status::Ok());
  Query(now);
}

void DownloadDriver::Tick(Clock::TimePoint now) {
  if (finished_) return;
  for (const Stall& stall : state_.Tick(now)) {
    // Dropped either way: banned when this stall is one too many.
    if (Strike(stall.peer, BanReason::kStalls, now)) continue;
    const bool open = stall.kind == Stall::Kind::kOpen;
    Drop(stall.peer, fmt::format("{} within {:.0f} s", open ? "no answer to OPEN" : "no chunk from it",
                                 ToSeconds(open ? kOpenTimeout : RequestTimeout(options_.chunk_size))));
  }
  // A slow holder's waiting requests go to faster ones; it keeps the chunk
  // it is sending.
  for (const Download::Moved& m : state_.Rebalance(now)) {
    for (std::uint32_t index : m.chunks) actions_.CancelRequest(m.peer, index);
    if (options_.log) {
      spdlog::debug("{} is slow: {} of its requests moved to faster holders", HolderName(m.peer), m.chunks.size());
    }
  }
  // A peer that only answers with REJECTs, or holds nothing we need, is
  // connected but of no use: only arriving data counts (OnData).
  phase_ = state_.active_peers() > 0 ? "downloading" : "waiting";
  if (now - idle_since_ >= options_.holder_timeout) {
    return Finish(Status::NotFound(fmt::format("gave up on {} after {} s without data: {}", options_.file_name,
                                               options_.holder_timeout.count(), holders_.GiveUpReason())));
  }
  if (holders_.QueryDue(now)) Query(now);
  ConnectMore(now);
  Wake();  // also after a held chunk's retry wait, which no request's end marks
  PumpAll(now);
}

void DownloadDriver::Query(Clock::TimePoint now) {
  holders_.OnQuerySent(now);
  actions_.Query();
}

void DownloadDriver::OnHolders(const Result<std::vector<proto::Holder>>& holders, Clock::TimePoint now) {
  if (finished_) return;
  const Status answer = holders.ok() ? Status::Ok() : holders.status();
  if (!answer.ok() && holders_.query_error().empty() && options_.log) {
    spdlog::warn("asking for holders of {}: {}", options_.file_name, answer.message());
  }
  holders_.OnQueryAnswered(answer, state_.active_peers(), now);
  if (!answer.ok()) return;
  holders_.OnHolders(*holders);
  for (auto& [key, gate] : gates_) gate.parent = ParentFlag(key);  // the trees may have changed
  ConnectMore(now);
}

void DownloadDriver::ConnectMore(Clock::TimePoint now) {
  if (finished_) return;
  const auto banned = [&](const proto::PeerId& id) { return bans_.Banned(options_.file, id, now); };
  for (PeerKey key : holders_.NextToConnect(now, banned)) {
    holders_.OnConnecting(key);
    const HolderSet::Holder holder = *holders_.Find(key);  // a copy: Connect may change the set
    actions_.Connect(key, holder);
  }
}

void DownloadDriver::PumpAll(Clock::TimePoint now) {
  if (finished_) return;
  for (PeerKey key : state_.PumpOrder()) Pump(key, now);
}

void DownloadDriver::Pump(PeerKey key, Clock::TimePoint now) {
  if (finished_) return;
  const Download::Turn turn = state_.TurnOf(key);
  if (turn == Download::Turn::kGone) return;
  // A gated holder waiting for a grant (most of them, most of the time):
  // Next would ask it for nothing, so only our interest can be news to it.
  if (turn == Download::Turn::kWaiting) return SyncInterest(key);
  std::vector<std::uint32_t> next = state_.Next(key, now);
  if (!next.empty()) actions_.Request(key, next);
  if (!state_.gated(key)) return;
  if (state_.ReturnGrants(key) > 0) {
    // A grant we cannot use now (our link is full, or all it has is on its
    // way from others): given back, and no more until something of ours
    // ends (Wake). Staying interested would have it grant us again at once.
    Gate& gate = GateOf(key);
    gate.sent = gate.parent;
    if (!gate.resting) ++resting_;
    gate.resting = true;
    return actions_.Interest(key, proto::kPass | gate.parent);
  }
  SyncInterest(key);
}

DownloadDriver::Gate& DownloadDriver::GateOf(PeerKey key) {
  auto [it, fresh] = gates_.try_emplace(key);  // a new holder starts out thinking we want nothing
  if (fresh) it->second.parent = ParentFlag(key);
  return it->second;
}

std::uint8_t DownloadDriver::ParentFlag(PeerKey key) const {
  const HolderSet::Holder* h = holders_.Find(key);
  return h != nullptr && h->preferred ? proto::kParent : 0;
}

void DownloadDriver::SyncInterest(PeerKey key) {
  Gate& gate = GateOf(key);
  if (gate.resting) return;
  const std::uint8_t flags = (state_.Interesting(key) ? proto::kInterested : 0) | gate.parent;
  if (gate.sent == flags) return;
  gate.sent = flags;
  actions_.Interest(key, flags);
}

void DownloadDriver::Wake() {
  if (resting_ == 0) return;
  for (auto& [key, gate] : gates_) gate.resting = false;
  resting_ = 0;
}

void DownloadDriver::OnGrant(PeerKey key, Clock::TimePoint now) {
  if (finished_) return;
  state_.OnGrant(key);
  Pump(key, now);
}

void DownloadDriver::OnConnected(PeerKey key, Clock::TimePoint now) {
  holders_.OnConnected(key);
  state_.AddPeer(key, now);
}

void DownloadDriver::OnBitfield(PeerKey key, const Bitfield& has, Clock::TimePoint now, bool gated) {
  state_.OnBitfield(key, has, gated);
  if (options_.log) spdlog::debug("{} holds {} of {} chunks", HolderName(key), has.count_set(), has.size());
  Pump(key, now);
}

void DownloadDriver::OnHave(PeerKey key, std::uint32_t index, Clock::TimePoint now) {
  // Only this peer has something new to offer, and only if we still need
  // the chunk: HAVEs arrive from every peer for every chunk (half of them
  // for chunks we hold already), so pumping on each would cost the most.
  if (state_.OnHave(key, index)) Pump(key, now);
}

void DownloadDriver::OnChunk(PeerKey key, std::uint32_t index, bool good, Clock::TimePoint now) {
  if (finished_) return;
  if (good) GoodChunk(key);
  const Download::Verdict v = state_.OnChunk(key, index, good, now);
  if (!good) {
    if (options_.log) {
      spdlog::warn("chunk {} of {} from {} failed its checksum; fetching it again", index, options_.file_name,
                   HolderName(key));
    }
    Strike(key, BanReason::kBadChunks, now);
  }
  Wake();
  if (v.verified) {
    actions_.Verified(index);
    for (PeerKey loser : v.cancel) actions_.CancelRequest(loser, index);
    if (state_.complete()) return Finish(Status::Ok());
  }
  PumpAll(now);
}

void DownloadDriver::OnSpoiled(PeerKey key, std::uint32_t index, Clock::TimePoint now) {
  if (finished_) return;
  GoodChunk(key);
  state_.Requeue(key, index, now);
  PumpAll(now);
}

void DownloadDriver::OnReject(PeerKey key, std::uint32_t index, proto::RejectReason why, Clock::TimePoint now) {
  if (finished_) return;
  if (index == proto::kWholeFile) {
    holders_.NoteProblem(key, HolderName(key) + " does not serve the file");
    Drop(key, "it does not serve this file");
    return;
  }
  // A gated holder's refusal leaves its grant in place (a busy one means
  // the grant had lapsed there).
  if (state_.gated(key) && why != proto::RejectReason::kBusy) state_.OnGrant(key);
  if (why == proto::RejectReason::kElsewhere || why == proto::RejectReason::kBusy) {
    // Not a fault of the holder: ask others first, this one again later.
    state_.OnDeferred(key, index, now);
  } else {
    state_.OnReject(key, index, now);
  }
  if (why == proto::RejectReason::kChanged) Drop(key, "its copy changed on disk");
  Wake();
  PumpAll(now);
}

void DownloadDriver::OnClosed(PeerKey key, const Status& why, bool was_connected, Clock::TimePoint now) {
  if (holders_.Find(key) == nullptr || finished_) return;
  state_.OnPeerGone(key);
  if (auto it = gates_.find(key); it != gates_.end()) {
    resting_ -= it->second.resting ? 1 : 0;
    gates_.erase(it);
  }
  Wake();
  holders_.OnClosed(key, why, now);
  if (options_.log) {
    if (was_connected) {
      spdlog::info("lost {} while downloading {}: {}", HolderName(key), options_.file_name,
                   why.ok() ? "closed" : why.message());
    } else {
      spdlog::debug("cannot connect to {}: {}", HolderName(key), why.message());
    }
  }
  PumpAll(now);
}

void DownloadDriver::Drop(PeerKey key, const std::string& why) {
  const HolderSet::Holder* h = holders_.Find(key);
  if (h == nullptr || !h->connected) return;
  if (options_.log) spdlog::warn("dropping {} from the download of {}: {}", HolderName(key), options_.file_name, why);
  holders_.NoteProblem(key, why);
  actions_.Close(key, Status::IOError(why));
}

bool DownloadDriver::Strike(PeerKey key, BanReason kind, Clock::TimePoint now) {
  const HolderSet::Holder* h = holders_.Find(key);
  if (h == nullptr) return false;
  const std::string address = net::SocketAddress::FromEndpoint(h->endpoint).ToString();
  const auto ban = kind == BanReason::kStalls ? bans_.OnStall(options_.file, h->id, options_.file_name, address, now)
                                              : bans_.OnBadChunk(options_.file, h->id, options_.file_name, address, now);
  if (!ban) return false;
  state_.Ban(key);
  // The one warn line for the ban (the close that follows is logged at info).
  const std::string why = BanCause(*ban);
  if (options_.log) {
    spdlog::warn("banned peer {} for {}: {}; not used for this file until {} (for {})", address, options_.file_name,
                 why, WallClockIn(ban->until - now), FormatSeconds(ToSeconds(ban->until - now)));
  }
  const std::string problem = "banned: " + why;
  holders_.NoteProblem(key, problem);
  if (h->connected) actions_.Close(key, Status::IOError(problem));
  return true;
}

void DownloadDriver::GoodChunk(PeerKey key) {
  const HolderSet::Holder* h = holders_.Find(key);
  if (h == nullptr) return;
  holders_.OnGoodChunk(key);
  bans_.OnGoodChunk(options_.file, h->id);
}

void DownloadDriver::Finish(const Status& why) {
  if (finished_) return;
  finished_ = true;
  actions_.Finished(why);
}

std::string DownloadDriver::HolderName(PeerKey key) const {
  const HolderSet::Holder* h = holders_.Find(key);
  return "peer " + (h == nullptr ? std::string("?") : net::SocketAddress::FromEndpoint(h->endpoint).ToString());
}

}  // namespace lanswarm::peer
