#include "peer/chunk_picker.h"

#include <algorithm>
#include <numeric>

namespace lanswarm::peer {

ChunkPicker::ChunkPicker(std::uint32_t chunk_count, std::uint64_t seed, int endgame_duplicates)
    : count_(chunk_count),
      endgame_duplicates_(std::max(1, endgame_duplicates)),
      state_(chunk_count, State::kNeeded),
      availability_(chunk_count, 0),
      rank_(chunk_count),
      requesters_(chunk_count, 0),
      late_(chunk_count, 0),
      open_(Bitfield(chunk_count, true).bytes()),
      needed_count_(chunk_count) {
  std::iota(rank_.begin(), rank_.end(), 0u);
  std::mt19937_64 rng(seed);
  std::shuffle(rank_.begin(), rank_.end(), rng);
}

void ChunkPicker::Hold(std::uint32_t index) { SetOpen(index, false); }

void ChunkPicker::Unhold(std::uint32_t index) { SetOpen(index, state_[index] != State::kVerified); }

void ChunkPicker::SetOpen(std::uint32_t index, bool open) {
  const auto mask = static_cast<std::uint8_t>(1u << (index % 8));
  open_[index / 8] = static_cast<std::uint8_t>(open ? open_[index / 8] | mask : open_[index / 8] & ~mask);
}

void ChunkPicker::MarkVerified(std::uint32_t index) {
  if (state_[index] == State::kVerified) return;
  SetOpen(index, false);
  if (state_[index] == State::kNeeded) --needed_count_;
  state_[index] = State::kVerified;
  ++verified_count_;
  Unuseful(index);
}

void ChunkPicker::Unuseful(std::uint32_t index) {
  for (auto& [key, info] : peers_) {
    if (info.has.size() == count_ && info.has.has(index)) --info.useful;
  }
}

void ChunkPicker::OnPeerBitfield(PeerKey peer, const Bitfield& has) {
  PeerInfo& info = peers_[peer];
  info.useful = 0;
  for (std::uint32_t i = 0; i < count_ && i < has.size(); ++i) {
    const bool had = info.has.size() == count_ && info.has.has(i);
    if (has.has(i) && !had) ++availability_[i];
    if (!has.has(i) && had) --availability_[i];
    if (has.has(i) && state_[i] != State::kVerified) ++info.useful;
  }
  info.has = has.size() == count_ ? has : Bitfield(count_);
  if (has.size() != count_) info.useful = 0;
}

bool ChunkPicker::OnPeerHave(PeerKey peer, std::uint32_t index) {
  if (index >= count_) return false;
  auto it = peers_.find(peer);
  if (it == peers_.end()) return false;
  PeerInfo& info = it->second;
  if (info.has.size() != count_) info.has = Bitfield(count_);
  if (info.has.has(index)) return false;
  info.has.set(index);
  ++availability_[index];
  if (state_[index] == State::kVerified) return false;
  ++info.useful;
  return true;
}

void ChunkPicker::OnPeerGone(PeerKey peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  for (std::uint32_t i : std::vector<std::uint32_t>(it->second.requested.begin(), it->second.requested.end())) {
    failed_[peer].insert(i);
    Release(i, peer);
  }
  if (it->second.has.size() == count_) {
    for (std::uint32_t i = 0; i < count_; ++i) {
      if (it->second.has.has(i)) --availability_[i];
    }
  }
  peers_.erase(it);
}

bool ChunkPicker::Before(std::uint32_t a, std::uint32_t b) const {
  if (availability_[a] != availability_[b]) return availability_[a] < availability_[b];
  return rank_[a] < rank_[b];
}

void ChunkPicker::Request(std::uint32_t index, PeerKey peer, PeerInfo& info) {
  if (state_[index] == State::kNeeded) {
    state_[index] = State::kInFlight;
    --needed_count_;
  }
  ++requesters_[index];
  info.requested.insert(index);
  (void)peer;
}

// Drops `peer`'s request for `index`; with no request left the chunk is
// needed again.
void ChunkPicker::Release(std::uint32_t index, PeerKey peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.requested.erase(index) == 0) return;
  --requesters_[index];
  if (it->second.late.erase(index) != 0) --late_[index];
  if (state_[index] == State::kInFlight && requesters_[index] == 0) {
    state_[index] = State::kNeeded;
    ++needed_count_;
  }
}

std::vector<std::uint32_t> ChunkPicker::Next(PeerKey peer, std::size_t n) {
  std::vector<std::uint32_t> out;
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.has.size() != count_ || n == 0) return out;
  PeerInfo& info = it->second;

  // Candidates: needed chunks this peer has, preferring ones it has not
  // failed, then chunks stuck at late peers; in the endgame, chunks in
  // flight elsewhere. The loop runs for every pick of every peer: the cheap
  // vector tests come first, and the hash lookups only for candidates (a
  // needed chunk is in flight from nobody, so `requested` is asked only in
  // the endgame and of chunks whose every request is late).
  const bool endgame = needed_count_ == 0;
  auto failed_it = failed_.find(peer);
  const std::unordered_set<std::uint32_t>* failed = failed_it == failed_.end() ? nullptr : &failed_it->second;
  std::vector<std::uint32_t> fresh, retried, stuck;
  auto consider = [&](std::uint32_t i) {
    const int on_time = requesters_[i] - late_[i];
    if (endgame) {
      if (state_[i] != State::kInFlight || on_time >= endgame_duplicates_ || info.requested.count(i)) return;
    } else if (state_[i] != State::kNeeded) {
      // In flight only from late peers: after the needed chunks.
      if (state_[i] == State::kInFlight && on_time == 0 && !info.requested.count(i)) stuck.push_back(i);
      return;
    }
    (failed != nullptr && failed->count(i) ? retried : fresh).push_back(i);
  };
  // Only the chunks it has that are neither verified nor held here
  // (open_), ascending, eight at a time.
  const Bytes& has = info.has.bytes();
  for (std::size_t byte = 0; byte < open_.size(); ++byte) {
    for (unsigned bits = has[byte] & open_[byte]; bits != 0; bits &= bits - 1) {
      consider(static_cast<std::uint32_t>(byte * 8 + static_cast<unsigned>(__builtin_ctz(bits))));
    }
  }
  auto order = [this](std::uint32_t a, std::uint32_t b) { return Before(a, b); };
  auto take = [&](std::vector<std::uint32_t>& from) {
    const std::size_t k = std::min(from.size(), n - out.size());
    std::partial_sort(from.begin(), from.begin() + static_cast<std::ptrdiff_t>(k), from.end(), order);
    for (std::size_t j = 0; j < k; ++j) {
      Request(from[j], peer, info);
      out.push_back(from[j]);
    }
  };
  take(fresh);
  // A chunk this peer failed is asked of it again only when no other peer
  // that has it could be asked instead.
  std::erase_if(retried, [&](std::uint32_t i) {
    for (const auto& [key, other] : peers_) {
      if (key != peer && other.has.size() == count_ && other.has.has(i) && !Failed(key, i)) return true;
    }
    return false;
  });
  if (out.size() < n) take(retried);
  if (out.size() < n) take(stuck);
  return out;
}

std::vector<PeerKey> ChunkPicker::OnVerified(std::uint32_t index, PeerKey peer) {
  std::vector<PeerKey> losers;
  Release(index, peer);
  for (auto& [key, info] : peers_) {
    if (key != peer && info.requested.count(index)) losers.push_back(key);
  }
  for (PeerKey key : losers) Release(index, key);
  if (state_[index] != State::kVerified) {
    if (state_[index] == State::kNeeded) --needed_count_;
    state_[index] = State::kVerified;
    SetOpen(index, false);
    ++verified_count_;
    Unuseful(index);
  }
  std::sort(losers.begin(), losers.end());
  return losers;
}

void ChunkPicker::OnFailed(std::uint32_t index, PeerKey peer) {
  failed_[peer].insert(index);
  Release(index, peer);
}

void ChunkPicker::MarkLate(std::uint32_t index, PeerKey peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.requested.count(index) == 0) return;
  if (it->second.late.insert(index).second) ++late_[index];
}

bool ChunkPicker::Failed(PeerKey peer, std::uint32_t index) const {
  auto it = failed_.find(peer);
  return it != failed_.end() && it->second.count(index) != 0;
}

std::size_t ChunkPicker::in_flight(PeerKey peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.requested.size();
}

bool ChunkPicker::has(PeerKey peer, std::uint32_t index) const {
  auto it = peers_.find(peer);
  return it != peers_.end() && index < count_ && it->second.has.size() == count_ && it->second.has.has(index);
}

std::uint32_t ChunkPicker::useful(PeerKey peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.useful;
}

}  // namespace lanswarm::peer
