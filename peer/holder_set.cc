#include "peer/holder_set.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/backoff.h"

namespace lanswarm::peer {

HolderSet::HolderSet(const PeerId& self, std::uint32_t max_peers, std::uint64_t seed)
    : self_(self), max_peers_(max_peers), rng_(seed) {}

void HolderSet::OnHolders(const std::vector<proto::Holder>& list) {
  // The parents are the ones the latest answer names: the trees change as
  // the swarm does, and a getter with stale parents would have holders
  // favour more than their two children.
  for (PeerKey key : parents_) holders_[key].preferred = false;
  parents_.clear();
  for (const proto::Holder& h : list) {
    if (h.peer == self_ || h.state == proto::FileState::kGone) continue;
    auto [it, fresh] = keys_.emplace(h.peer, next_key_);
    if (fresh) ++next_key_;
    Holder& holder = holders_[it->second];
    holder.id = h.peer;
    holder.endpoint = h.endpoint;
    holder.state = h.state;
    holder.preferred = (h.flags & proto::kHolderParent) != 0;
    if (holder.preferred) parents_.push_back(it->second);
  }
}

std::vector<PeerKey> HolderSet::NextToConnect(Clock::TimePoint now,
                                              const std::function<bool(const PeerId&)>& banned) {
  std::size_t busy = 0;
  for (const auto& [key, h] : holders_) busy += (h.connected || h.connecting) ? 1 : 0;
  auto ready = [&](const Holder& h) { return !(h.connected || h.connecting) && !banned(h.id) && now >= h.retry_at; };
  // Called on every tick: with every slot taken (the usual case) there is
  // nothing to sort, however many holders a large swarm has named. Our tree
  // parents get a place even then (max_peers + 2 at most): the trees change
  // as the swarm does, and a new parent must not wait for a place to free.
  if (busy >= max_peers_) {
    std::vector<PeerKey> keys;
    for (PeerKey key : parents_) {
      if (busy + keys.size() < max_peers_ + 2 && ready(holders_[key])) keys.push_back(key);
    }
    return keys;
  }
  struct Candidate {
    bool preferred;
    bool partial;
    int failures;
    PeerKey key;
  };
  std::vector<Candidate> candidates;
  for (const auto& [key, h] : holders_) {
    if (ready(h)) {
      candidates.push_back(Candidate{h.preferred, h.state != proto::FileState::kWhole, h.failures, key});
    }
  }
  // Shuffled first, so that the stable sort leaves ties in random order.
  std::shuffle(candidates.begin(), candidates.end(), rng_);
  std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& x, const Candidate& y) {
    if (x.preferred != y.preferred) return x.preferred;
    if (x.partial != y.partial) return !x.partial;
    return x.failures < y.failures;
  });
  const std::size_t room = max_peers_ - busy;
  std::vector<PeerKey> keys;
  for (std::size_t i = 0; i < candidates.size() && i < room; ++i) keys.push_back(candidates[i].key);
  return keys;
}

void HolderSet::OnConnecting(PeerKey key) {
  if (auto it = holders_.find(key); it != holders_.end()) it->second.connecting = true;
}

void HolderSet::OnConnected(PeerKey key) {
  if (auto it = holders_.find(key); it != holders_.end()) {
    it->second.connecting = false;
    it->second.connected = true;
  }
}

void HolderSet::OnGoodChunk(PeerKey key) {
  if (auto it = holders_.find(key); it != holders_.end()) it->second.failures = 0;
}

void HolderSet::OnClosed(PeerKey key, const Status& why, Clock::TimePoint now) {
  auto it = holders_.find(key);
  if (it == holders_.end()) return;
  Holder& h = it->second;
  h.connecting = h.connected = false;
  ++h.failures;
  h.retry_at = now + ExponentialWait(kRetryBase, kRetryCap, h.failures);
  if (!why.ok()) h.last_error = why.message();
}

void HolderSet::NoteProblem(PeerKey key, std::string why) {
  if (auto it = holders_.find(key); it != holders_.end()) it->second.last_error = std::move(why);
}

const HolderSet::Holder* HolderSet::Find(PeerKey key) const {
  auto it = holders_.find(key);
  return it == holders_.end() ? nullptr : &it->second;
}

bool HolderSet::QueryDue(Clock::TimePoint now) {
  if (query_pending_ && now - query_sent_ > kQueryDeadline) {
    query_pending_ = false;
    query_error_ = fmt::format("the coordinator did not answer within {} s",
                               std::chrono::duration_cast<std::chrono::seconds>(kQueryDeadline).count());
  }
  return !query_pending_ && now >= next_query_;
}

void HolderSet::OnQuerySent(Clock::TimePoint now) {
  query_pending_ = true;
  query_sent_ = now;
  ++queries_;
}

void HolderSet::OnQueryAnswered(const Status& answer, std::size_t active_peers, Clock::TimePoint now) {
  query_pending_ = false;
  next_query_ = now + (active_peers < max_peers_ ? ExponentialWait(kQueryFirst, kQueryOften, queries_ - 1) : kQueryFull);
  query_error_ = answer.ok() ? std::string() : answer.message();
}

std::string HolderSet::GiveUpReason() const {
  if (!query_error_.empty()) return "no answer from the coordinator (" + query_error_ + ")";
  if (holders_.empty()) return fmt::format("no peer holds it (asked the coordinator {} times)", queries_);
  std::string last;
  for (const auto& [key, h] : holders_) {
    if (!h.last_error.empty()) last = h.last_error;
  }
  return fmt::format("none of its {} known holders sent any of the missing chunks{}", holders_.size(),
                     last.empty() ? "" : " (last problem: " + last + ")");
}

}  // namespace lanswarm::peer
