#include "peer/download.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/backoff.h"

namespace lanswarm::peer {

Clock::Duration RequestTimeout(std::uint64_t chunk_size) {
  const auto per_mib = std::chrono::duration_cast<Clock::Duration>(std::chrono::seconds(4)) *
                       static_cast<double>(chunk_size) / static_cast<double>(1 << 20);
  return std::max<Clock::Duration>(std::chrono::seconds(4),
                                   std::chrono::duration_cast<Clock::Duration>(per_mib));
}

std::uint32_t PipelineFor(std::uint64_t chunk_size) {
  const std::uint64_t n = (8ull << 20) / std::max<std::uint64_t>(chunk_size, 1);
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(n, 2, 16));
}

Download::Download(std::uint32_t chunk_count, Clock::Duration request_timeout, const DownloadOptions& options)
    : picker_(chunk_count, options.seed, options.endgame_duplicates),
      timeout_(request_timeout),
      options_(options),
      failures_(chunk_count, 0) {}

void Download::MarkVerified(std::uint32_t index) { picker_.MarkVerified(index); }

void Download::AddPeer(PeerKey peer, Clock::TimePoint now) {
  PeerState& s = peers_[peer];
  s = PeerState{};
  s.added = now;
  banned_.erase(peer);
}

void Download::OnBitfield(PeerKey peer, const Bitfield& has, bool gated) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  it->second.ready = true;
  it->second.gated = gated;
  picker_.OnPeerBitfield(peer, has);
}

void Download::OnGrant(PeerKey peer) {
  auto it = peers_.find(peer);
  if (it != peers_.end() && it->second.gated) ++it->second.grants;
}

std::uint32_t Download::ReturnGrants(PeerKey peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return 0;
  return std::exchange(it->second.grants, 0);
}

bool Download::gated(PeerKey peer) const {
  auto it = peers_.find(peer);
  return it != peers_.end() && it->second.gated;
}

Download::Turn Download::TurnOf(PeerKey peer) const {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return Turn::kGone;
  const PeerState& s = it->second;
  // As Next: a peer not ready or banned is asked for nothing either, but
  // goes the long way (rare).
  return s.gated && s.grants == 0 && s.rate_started && s.ready && !banned(peer) ? Turn::kWaiting : Turn::kOther;
}

std::uint32_t Download::grants(PeerKey peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.grants;
}

bool Download::OnHave(PeerKey peer, std::uint32_t index) {
  // The picker knows only connected peers that sent their bitfield (our
  // OnBitfield, OnPeerGone): no lookup here first. HAVEs are the most
  // frequent message.
  return picker_.OnPeerHave(peer, index);
}

void Download::OnProgress(PeerKey peer, std::uint64_t bytes) {
  if (auto it = peers_.find(peer); it != peers_.end()) it->second.window_bytes += bytes;
}

void Download::OnPeerGone(PeerKey peer) {
  stats_.retries += picker_.in_flight(peer);
  picker_.OnPeerGone(peer);
  peers_.erase(peer);
}

std::uint32_t Download::PipelineOf(const PeerState& s) const {
  constexpr std::uint32_t kMin = 2;
  const std::uint32_t most = std::max<std::uint32_t>(options_.pipeline, 1);
  if (s.squeezed) return 1;
  const double per_second = s.delivered.PerSecond();
  if (per_second <= 0) return 1;  // on probation: nothing delivered yet
  const double want = std::ceil(per_second * std::chrono::duration<double>(kQueueTime).count()) + 1;
  return std::clamp(static_cast<std::uint32_t>(std::min(want, 1e6)), std::min(kMin, most), most);
}

Clock::TimePoint Download::HeadSince(const PeerState& s) {
  return std::max(s.queue.front().at, s.last_delivery);
}

void Download::Forget(PeerKey peer, std::uint32_t index) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  std::erase_if(it->second.queue, [index](const Sent& r) { return r.index == index; });
}

std::vector<std::uint32_t> Download::Next(PeerKey peer, Clock::TimePoint now) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || !it->second.ready || banned(peer)) return {};
  PeerState& s = it->second;
  if (!s.rate_started) {
    s.delivered.Add(now, 0);  // the rate counts from the first time we could ask
    s.rate_started = true;
  }
  if (s.gated) {
    if (s.grants == 0) return {};
    // One chunk per grant, whatever its pipeline would take, while fewer
    // than max_incoming other gated peers are sending to us. Senders count,
    // not chunks; one more than twice as slow as the fastest of those
    // sending and this one (a weak uplink next to the seed) does not fill
    // our link and does not count. (Against the median of all peers, two
    // weak senders in a swarm of half weak uplinks held a getter for good
    // while the seed's grants were passed on.) Only current senders and
    // this one set the mark: an idle peer's time, measured when our link
    // was free, would make every sender look slow. Twice max_incoming
    // senders at most, slow or not.
    std::optional<Clock::Duration> best;
    std::size_t senders = 0;
    for (const auto& [key, other] : peers_) {
      if (!other.gated || banned(key) || (key != peer && other.queue.empty())) continue;
      if (key != peer) ++senders;
      if (other.chunk_time > Clock::Duration::zero()) {
        best = best ? std::min(*best, other.chunk_time) : other.chunk_time;
      }
    }
    std::size_t incoming = 0;
    for (const auto& [key, other] : peers_) {
      if (!other.gated || key == peer || other.queue.empty()) continue;
      const bool slow = best && other.chunk_time > *best * kSlowFactor / 2;
      incoming += slow ? 0 : 1;
    }
    if (incoming >= options_.max_incoming || senders >= 2 * options_.max_incoming) return {};
    std::vector<std::uint32_t> out = picker_.Next(peer, s.grants);
    s.grants -= static_cast<std::uint32_t>(out.size());
    for (std::uint32_t index : out) s.queue.push_back(Sent{index, now});
    return out;
  }
  const std::size_t flying = picker_.in_flight(peer);
  const std::uint32_t depth = PipelineOf(s);
  if (flying >= depth) return {};
  if (s.delivered_count == 0) {
    bool proven_gated = false;
    std::size_t probes = 0;
    for (const auto& [key, other] : peers_) {
      proven_gated |= other.gated && other.delivered_count > 0;
      if (!other.gated && other.delivered_count == 0) probes += other.queue.size();
    }
    if (proven_gated && probes >= kProbesBesideGrants) return {};
  }
  std::vector<std::uint32_t> out = picker_.Next(peer, depth - flying);
  for (std::uint32_t index : out) s.queue.push_back(Sent{index, now});
  return out;
}

std::vector<PeerKey> Download::PumpOrder() const {
  struct Rank {
    bool on_probation;
    std::uint32_t late;
    PeerKey key;
    auto operator<=>(const Rank&) const = default;
  };
  // Usually no peer was ever late: those that delivered, then those on
  // probation, each in key order (the table's), with nothing to sort.
  if (late_probes_.empty()) {
    std::vector<PeerKey> order;
    order.reserve(peers_.size());
    for (const auto& [key, s] : peers_) {
      if (s.delivered_count > 0) order.push_back(key);
    }
    for (const auto& [key, s] : peers_) {
      if (s.delivered_count == 0) order.push_back(key);
    }
    return order;
  }
  std::vector<Rank> ranks;
  ranks.reserve(peers_.size());
  for (const auto& [key, s] : peers_) {
    auto late = late_probes_.find(key);
    ranks.push_back(Rank{s.delivered_count == 0, late == late_probes_.end() ? 0 : late->second, key});
  }
  std::sort(ranks.begin(), ranks.end());
  std::vector<PeerKey> order;
  for (const Rank& r : ranks) order.push_back(r.key);
  return order;
}

Download::Verdict Download::OnChunk(PeerKey peer, std::uint32_t index, bool good, Clock::TimePoint now) {
  Verdict v;
  if (index >= picker_.chunk_count()) return v;
  auto it = peers_.find(peer);
  if (it != peers_.end()) {
    PeerState& s = it->second;
    auto sent = std::find_if(s.queue.begin(), s.queue.end(), [index](const Sent& r) { return r.index == index; });
    // Its time for this chunk: from when it could start on it. A chunk it
    // was not (or no longer) asked for says nothing about its speed.
    if (sent != s.queue.end()) {
      const Clock::Duration took = now - std::max(sent->at, s.last_delivery);
      s.chunk_time = s.chunk_time == Clock::Duration::zero() ? took : (s.chunk_time * 3 + took) / 4;
      s.queue.erase(sent);
    }
    s.last_delivery = now;
    s.window_bytes = 0;  // the next chunk's window starts now (HeadSince)
    s.squeezed = false;
    s.delivered.Add(now, ++s.delivered_count);
  }
  if (!good) {
    ++stats_.checksum_failures;
    Fail(peer, index, now);
    return v;
  }
  if (picker_.verified(index)) {
    ++stats_.duplicates;
    return v;
  }
  // A good chunk counts even when it was not (or no longer) requested from
  // this peer: a CANCEL that came too late still delivered the right bytes.
  v.cancel = picker_.OnVerified(index, peer);
  for (PeerKey loser : v.cancel) Forget(loser, index);
  v.verified = true;
  return v;
}

void Download::OnReject(PeerKey peer, std::uint32_t index, Clock::TimePoint now) {
  if (index >= picker_.chunk_count()) return;
  ++stats_.rejects;
  Fail(peer, index, now);
}

void Download::OnDeferred(PeerKey peer, std::uint32_t index, Clock::TimePoint now) {
  if (index >= picker_.chunk_count() || picker_.verified(index)) return;
  ++stats_.deferred;
  Forget(peer, index);
  picker_.OnFailed(index, peer);
  // availability counts `peer` too: 1 means nobody else we know has it yet.
  if (picker_.availability(index) <= 1) {
    picker_.Hold(index);
    retry_at_.emplace(now + kDeferHold, index);
  }
}

void Download::Requeue(PeerKey peer, std::uint32_t index, Clock::TimePoint now) {
  if (index >= picker_.chunk_count()) return;
  Fail(peer, index, now);
}

void Download::Fail(PeerKey peer, std::uint32_t index, Clock::TimePoint now) {
  Forget(peer, index);
  if (picker_.verified(index)) return;
  picker_.OnFailed(index, peer);
  ++stats_.retries;
  const std::uint32_t n = ++failures_[index];
  // The first failure is retried at once (from another holder when there
  // is one); repeated failures of the same chunk back off.
  if (n < 2) return;
  const Clock::Duration wait =
      ExponentialWait(options_.retry_base, options_.retry_cap, static_cast<int>(std::min<std::uint32_t>(n - 2, 20)));
  picker_.Hold(index);
  retry_at_.emplace(now + wait, index);
}

std::vector<Stall> Download::Tick(Clock::TimePoint now) {
  while (!retry_at_.empty() && retry_at_.begin()->first <= now) {
    picker_.Unhold(retry_at_.begin()->second);
    retry_at_.erase(retry_at_.begin());
  }
  MarkLateProbes(now);
  std::vector<Stall> stalled;
  for (auto& [key, state] : peers_) {
    if (state.stalled) continue;
    if (!state.ready && now >= state.added + kOpenTimeout) {
      stalled.push_back(Stall{key, Stall::Kind::kOpen});
    } else if (!state.queue.empty() && now >= std::max(HeadSince(state), state.window_start) + timeout_) {
      // Slow but moving: a new window, and no stall (kProgressFloor).
      const double seconds = std::chrono::duration<double>(timeout_).count();
      if (static_cast<double>(state.window_bytes) >= seconds * static_cast<double>(kProgressFloor)) {
        state.window_start = now;
        state.window_bytes = 0;
        continue;
      }
      stalled.push_back(Stall{key, Stall::Kind::kRequest});
    } else {
      continue;
    }
    state.stalled = true;
  }
  stats_.timeouts += stalled.size();
  return stalled;
}

std::optional<Clock::Duration> Download::MedianChunkTime(PeerKey except) const {
  std::vector<Clock::Duration> times;
  for (const auto& [key, s] : peers_) {
    if (key != except && s.ready && !banned(key) && s.chunk_time > Clock::Duration::zero()) {
      times.push_back(s.chunk_time);
    }
  }
  if (times.empty()) return std::nullopt;
  std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2), times.end());
  return times[times.size() / 2];
}

void Download::MarkLateProbes(Clock::TimePoint now) {
  // The same for every peer on probation: none has a chunk time of its own
  // for the median to leave out.
  std::optional<Clock::Duration> after;
  for (auto& [key, s] : peers_) {
    if (s.delivered_count > 0 || s.queue.empty() || banned(key)) continue;
    if (!after) after = std::max(kSlowFloor, MedianChunkTime(key).value_or(Clock::Duration::zero()) * kSlowFactor);
    for (Sent& r : s.queue) {
      if (r.late || now - r.at <= *after) continue;
      r.late = true;
      ++stats_.late_probes;
      ++late_probes_[key];
      picker_.MarkLate(r.index, key);
    }
  }
}

std::vector<Download::Moved> Download::Rebalance(Clock::TimePoint now) {
  std::vector<Moved> moved;
  auto usable = [&](PeerKey key, const PeerState& s) { return s.ready && !banned(key); };
  for (auto& [slow_key, slow] : peers_) {
    if (slow.queue.size() < 2 || slow.squeezed || !usable(slow_key, slow)) continue;
    const std::optional<Clock::Duration> median = MedianChunkTime(slow_key);
    if (!median) continue;
    const Clock::Duration age = now - HeadSince(slow);
    if (age <= std::max(kSlowFloor, *median * kSlowFactor)) continue;
    // Faster peers that could take more now.
    std::vector<PeerKey> takers;
    for (const auto& [key, s] : peers_) {
      if (key == slow_key || !usable(key, s) || s.chunk_time == Clock::Duration::zero()) continue;
      if (s.chunk_time * kSlowFactor < age && picker_.in_flight(key) < PipelineOf(s)) takers.push_back(key);
    }
    Moved m{slow_key, {}};
    for (auto r = slow.queue.begin() + 1; r != slow.queue.end();) {
      const bool taken = std::any_of(takers.begin(), takers.end(), [&](PeerKey k) { return picker_.has(k, r->index); });
      if (!taken) {
        ++r;
        continue;
      }
      picker_.OnFailed(r->index, slow_key);
      m.chunks.push_back(r->index);
      r = slow.queue.erase(r);
    }
    if (m.chunks.empty()) continue;
    slow.squeezed = true;
    stats_.reassigned += m.chunks.size();
    moved.push_back(std::move(m));
  }
  return moved;
}

void Download::Ban(PeerKey peer) {
  if (banned_.insert(peer)) ++stats_.banned_peers;
}

std::size_t Download::active_peers() const {
  std::size_t n = 0;
  for (const auto& [key, state] : peers_) n += state.ready && !banned(key);
  return n;
}

}  // namespace lanswarm::peer
