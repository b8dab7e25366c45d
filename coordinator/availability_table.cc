#include "coordinator/availability_table.h"

#include <sodium.h>

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "common/sodium_init.h"
#include "common/swarm_tree.h"

namespace lanswarm::coordinator {

namespace {

// A slot of `slots` for a new entry: a freed one if any, else a new one.
template <typename T>
std::uint32_t TakeSlot(std::vector<T>& slots, std::vector<std::uint32_t>& free) {
  if (free.empty()) {
    slots.emplace_back();
    return static_cast<std::uint32_t>(slots.size() - 1);
  }
  const std::uint32_t s = free.back();
  free.pop_back();
  return s;
}

}  // namespace

std::size_t AvailabilityTable::KeyedHash::Hash(const std::uint8_t* bytes16) const {
  static_assert(crypto_shorthash_KEYBYTES == 16 && crypto_shorthash_BYTES == 8);
  unsigned char out[crypto_shorthash_BYTES];
  crypto_shorthash(out, bytes16, 16, key.data());
  std::size_t h;
  std::memcpy(&h, out, sizeof h);
  return h;
}

AvailabilityTable::AvailabilityTable(const Clock& clock, Clock::Duration expiry, TableLimits limits,
                                     const std::array<std::uint8_t, 16>& hash_key)
    : clock_(clock),
      expiry_(expiry),
      limits_(limits),
      peer_index_(16, KeyedHash{hash_key}),
      file_index_(16, KeyedHash{hash_key}) {
  // A constructor has no Status to return, and without libsodium the table
  // cannot key its hashes: nothing sensible is left to do.
  if (!InitSodium().ok()) std::abort();
}

// ---- the expiry list: peers ordered by last report, oldest first ----

void AvailabilityTable::Unlink(std::uint32_t p) {
  Peer& peer = peers_[p];
  if (peer.older != kNone) peers_[peer.older].newer = peer.newer; else oldest_ = peer.newer;
  if (peer.newer != kNone) peers_[peer.newer].older = peer.older; else newest_ = peer.older;
  peer.older = peer.newer = kNone;
}

void AvailabilityTable::LinkNewest(std::uint32_t p) {
  peers_[p].older = newest_;
  peers_[p].newer = kNone;
  if (newest_ != kNone) peers_[newest_].newer = p; else oldest_ = p;
  newest_ = p;
}

// ---- holders ----

std::uint32_t AvailabilityTable::InternFile(const FileId& id) {
  auto [it, inserted] = file_index_.try_emplace(id, 0);
  if (!inserted) return it->second;
  const std::uint32_t f = TakeSlot(files_, free_files_);
  files_[f].id = id;
  it->second = f;
  return f;
}

std::uint32_t AvailabilityTable::AddHolder(std::uint32_t file, std::uint32_t peer, proto::FileState s) {
  auto& holders = files_[file].holders;
  holders.push_back(Pack(peer, s));
  ++entries_;
  return holders.size() - 1;
}

void AvailabilityTable::RemoveHolder(std::uint32_t file, std::uint32_t slot) {
  auto& holders = files_[file].holders;
  assert(slot < holders.size());
  if (slot + 1 != holders.size()) {
    // Move the last holder into the gap and tell its peer where it went.
    holders[slot] = holders.back();
    auto& moved = peers_[IndexOf(holders[slot])].files;
    auto it = std::lower_bound(moved.begin(), moved.end(), file,
                               [](const PeerFile& pf, std::uint32_t f) { return IndexOf(pf.packed) < f; });
    assert(it != moved.end() && IndexOf(it->packed) == file);
    it->slot = slot;
  }
  holders.pop_back();
  --entries_;
  if (holders.empty()) {
    file_index_.erase(files_[file].id);
    free_files_.push_back(file);
    trees_.erase(file);
  }
}

// ---- operations ----

Status AvailabilityTable::CheckQuota(const Source& source, std::uint32_t peer, std::size_t count) const {
  SourceUse use;
  if (auto it = sources_.find(source); it != sources_.end()) use = it->second;
  if (peer != kNone && peers_[peer].source == source) {
    --use.peers;  // the peer's own share is replaced
    use.entries -= peers_[peer].files.size();
  }
  if (use.peers + 1 > limits_.max_peers_per_address) {
    return Status::ResourceExhausted(fmt::format("this address reports for {} peers already, the limit per address",
                                                 use.peers));
  }
  if (use.entries + count > limits_.max_entries_per_address) {
    return Status::ResourceExhausted(fmt::format("this address would hold more than {} entries, the limit per address",
                                                 limits_.max_entries_per_address));
  }
  return Status::Ok();
}

void AvailabilityTable::Release(const Peer& peer) {
  SourceUse& use = sources_[peer.source];
  --use.peers;
  use.entries -= peer.files.size();
  if (use.peers == 0) sources_.erase(peer.source);
}

Status AvailabilityTable::Report(const proto::PeerId& id, const proto::Endpoint& endpoint,
                                 std::span<const proto::ReportEntry> files, const proto::Endpoint& source,
                                 std::uint64_t upload_bytes_per_second) {
  if (files.size() > limits_.max_files_per_report) {
    return Status::ResourceExhausted(fmt::format("report lists {} files, the limit is {}", files.size(),
                                                 limits_.max_files_per_report));
  }
  // The new list, deduplicated (highest state wins) and without state 0.
  std::vector<proto::ReportEntry> wanted;
  wanted.reserve(files.size());
  for (const auto& e : files) {
    if (e.state != proto::FileState::kGone) wanted.push_back(e);
  }
  std::sort(wanted.begin(), wanted.end(), [](const auto& a, const auto& b) {
    return a.file != b.file ? a.file < b.file : a.state > b.state;
  });
  wanted.erase(std::unique(wanted.begin(), wanted.end(), [](const auto& a, const auto& b) { return a.file == b.file; }),
               wanted.end());

  auto found = peer_index_.find(id);
  const std::size_t old_count = found == peer_index_.end() ? 0 : peers_[found->second].files.size();
  if (found == peer_index_.end() && peer_index_.size() >= limits_.max_peers) {
    return Status::ResourceExhausted(fmt::format("the table holds {} peers, the limit", limits_.max_peers));
  }
  if (entries_ - old_count + wanted.size() > limits_.max_entries) {
    return Status::ResourceExhausted(fmt::format("the table would exceed {} entries", limits_.max_entries));
  }
  Source src{};
  src[0] = source.family;
  std::copy(source.address.begin(), source.address.end(), src.begin() + 1);
  LANSWARM_RETURN_IF_ERROR(CheckQuota(src, found == peer_index_.end() ? kNone : found->second, wanted.size()));

  std::uint32_t p;
  if (found != peer_index_.end()) {
    p = found->second;
    Unlink(p);
    Release(peers_[p]);
  } else {
    p = TakeSlot(peers_, free_peers_);
    peers_[p].id = id;
    peer_index_.emplace(id, p);
  }
  Peer& peer = peers_[p];
  peer.endpoint = endpoint;
  peer.last_report = clock_.now();
  peer.upload = upload_bytes_per_second;
  LinkNewest(p);
  ++reports_;

  std::vector<std::uint32_t> next;
  next.reserve(wanted.size());
  for (const auto& e : wanted) next.push_back(Pack(InternFile(e.file), e.state));
  std::sort(next.begin(), next.end(), [](auto a, auto b) { return IndexOf(a) < IndexOf(b); });
  // The use is counted from the new list's size, which the merge below keeps.
  peer.source = src;
  sources_[src].peers += 1;
  sources_[src].entries += next.size();
  if (next.size() == peer.files.size() &&
      std::equal(next.begin(), next.end(), peer.files.begin(),
                 [](std::uint32_t n, const PeerFile& o) { return n == o.packed; })) {
    return Status::Ok();  // the common case: nothing changed
  }

  // Merge the old list into the new one; both are sorted by file index.
  std::vector<PeerFile> old = std::move(peer.files);
  std::vector<PeerFile> merged;
  merged.reserve(next.size());
  // RemoveHolder may move another peer's holder into the gap, never one of
  // this peer's (it holds each file once), so the slots in `old` and
  // `merged` stay valid throughout.
  std::size_t i = 0, j = 0;
  while (i < old.size() || j < next.size()) {
    const std::uint32_t of = i < old.size() ? IndexOf(old[i].packed) : kNone;
    const std::uint32_t nf = j < next.size() ? IndexOf(next[j]) : kNone;
    if (of < nf) {
      RemoveHolder(of, old[i].slot);
      ++i;
    } else if (nf < of) {
      merged.push_back(PeerFile{next[j], AddHolder(nf, p, StateOf(next[j]))});
      ++j;
    } else {
      if (StateOf(old[i].packed) != StateOf(next[j])) files_[nf].holders[old[i].slot] = Pack(p, StateOf(next[j]));
      merged.push_back(PeerFile{next[j], old[i].slot});
      ++i;
      ++j;
    }
  }
  peers_[p].files = std::move(merged);
  return Status::Ok();
}

std::vector<proto::Holder> AvailabilityTable::Query(const FileId& file, const proto::PeerId& asker) {
  ++queries_;
  std::vector<proto::Holder> out;
  auto it = file_index_.find(file);
  if (it == file_index_.end()) return out;
  const auto& holders = files_[it->second].holders;
  const auto asker_it = peer_index_.find(asker);
  const std::uint32_t asker_index = asker_it == peer_index_.end() ? kNone : asker_it->second;
  const auto now = clock_.now();
  const std::size_t n = holders.size();
  const std::size_t start = n == 0 ? 0 : rotation_++ % n;
  // The asker's parents in the file's two trees first (common/swarm_tree: the
  // members are the file's partial holders in the order of their slots; a
  // root's parent is a whole copy, which is no member: a seed feeds the two
  // roots and nothing else, at half its link each).
  std::uint32_t parents[2] = {kNone, kNone};
  if (asker_index != kNone && limits_.max_holders_per_answer >= 2) {
    const std::uint32_t file_index = it->second;
    const auto& files = peers_[asker_index].files;
    auto mine = std::lower_bound(files.begin(), files.end(), file_index,
                                 [](const PeerFile& f, std::uint32_t fi) { return IndexOf(f.packed) < fi; });
    if (mine != files.end() && IndexOf(mine->packed) == file_index && StateOf(mine->packed) == proto::FileState::kPartial) {
      // One pass over the packed holders: cheap next to the answer itself
      // (10,000 holders in about 10 us).
      std::vector<std::uint32_t> members;
      std::uint32_t rank = 0;
      std::vector<std::uint64_t> known;  // the uploads reported
      for (std::size_t k = 0; k < n; ++k) {
        if (StateOf(holders[k]) != proto::FileState::kPartial) continue;
        if (k == mine->slot) rank = static_cast<std::uint32_t>(members.size());
        members.push_back(holders[k]);
        if (const std::uint64_t u = peers_[IndexOf(holders[k])].upload; u != 0) known.push_back(u);
      }
      // Weak means under half the median of the reported uploads, not of the
      // fastest: one member claiming a huge figure must not make everyone
      // else weak and take both roots. Every other member, unknown ones
      // too, is strong, and the strong are equal (slot order, so that noise
      // in the figures does not reshape the trees at each report); only a
      // swarm with weak members pays for building the trees (a sort).
      const SwarmTree* by_upload = nullptr;
      if (!known.empty()) {
        std::nth_element(known.begin(), known.begin() + known.size() / 2, known.end());
        const std::uint64_t median = known[known.size() / 2];
        const auto weak = [&](std::uint32_t m) {
          const std::uint64_t u = peers_[IndexOf(m)].upload;
          return u != 0 && u < median / 2;
        };
        if (std::any_of(members.begin(), members.end(), weak)) {
          std::vector<double> uploads;
          uploads.reserve(members.size());
          for (std::uint32_t m : members) {
            uploads.push_back(weak(m) ? static_cast<double>(peers_[IndexOf(m)].upload) / static_cast<double>(median) : 1.0);
          }
          // The same members and figures as the last query: the same trees
          // (two compares instead of a sort of 10,000 members per query).
          TreeCache& cache = trees_[file_index];
          if (!cache.tree || cache.members != members || cache.uploads != uploads) {
            cache.tree.emplace(uploads);
            cache.members = members;
            cache.uploads = std::move(uploads);
          }
          by_upload = &*cache.tree;
        }
      }
      for (int t = 0; t < 2; ++t) {
        const std::uint32_t p = by_upload ? by_upload->Parent(rank, t)
                                          : SwarmTree::EqualParent(rank, static_cast<std::uint32_t>(members.size()), t);
        std::uint32_t chosen = kNone;
        if (p != SwarmTree::kSource) {
          chosen = members[p];
        } else {
          for (std::size_t k = 0; k < n; ++k) {
            const std::uint32_t h = holders[(start + k) % n];
            if (StateOf(h) == proto::FileState::kWhole && !Expired(peers_[IndexOf(h)], now)) {
              chosen = h;
              break;
            }
          }
        }
        if (chosen == kNone || IndexOf(chosen) == asker_index || Expired(peers_[IndexOf(chosen)], now)) continue;
        if (t == 1 && parents[0] != kNone && IndexOf(parents[0]) == IndexOf(chosen)) continue;
        parents[t] = chosen;
        const Peer& peer = peers_[IndexOf(chosen)];
        out.push_back(proto::Holder{peer.id, peer.endpoint, StateOf(chosen), proto::kHolderParent});
      }
    }
  }
  auto is_parent = [&](std::uint32_t h) {
    return (parents[0] != kNone && IndexOf(parents[0]) == IndexOf(h)) ||
           (parents[1] != kNone && IndexOf(parents[1]) == IndexOf(h));
  };
  // Two passes over the same rotation: whole copies, then partial ones.
  for (proto::FileState want : {proto::FileState::kWhole, proto::FileState::kPartial}) {
    for (std::size_t k = 0; k < n && out.size() < limits_.max_holders_per_answer; ++k) {
      const std::uint32_t h = holders[(start + k) % n];
      if (StateOf(h) != want || IndexOf(h) == asker_index || is_parent(h)) continue;
      const Peer& peer = peers_[IndexOf(h)];
      if (Expired(peer, now)) continue;
      out.push_back(proto::Holder{peer.id, peer.endpoint, want});
    }
  }
  return out;
}

void AvailabilityTable::DropPeer(std::uint32_t p) {
  Peer& peer = peers_[p];
  for (const PeerFile& f : peer.files) RemoveHolder(IndexOf(f.packed), f.slot);
  Release(peer);
  std::vector<PeerFile>().swap(peer.files);  // give the memory back
  Unlink(p);
  peer_index_.erase(peer.id);
  free_peers_.push_back(p);
}

std::size_t AvailabilityTable::Sweep(std::size_t budget) {
  const auto now = clock_.now();
  std::size_t dropped = 0;
  while (dropped < budget && oldest_ != kNone && Expired(peers_[oldest_], now)) {
    DropPeer(oldest_);
    ++dropped;
  }
  expired_ += dropped;
  return dropped;
}

bool AvailabilityTable::IsAlive(const proto::PeerId& peer) const {
  auto it = peer_index_.find(peer);
  return it != peer_index_.end() && !Expired(peers_[it->second], clock_.now());
}

Status AvailabilityTable::CheckConsistency() const {
  std::uint64_t from_peers = 0, from_files = 0;
  for (const auto& [id, p] : peer_index_) {
    const auto& files = peers_[p].files;
    for (std::size_t i = 0; i < files.size(); ++i) {
      const std::uint32_t f = IndexOf(files[i].packed);
      if (i > 0 && IndexOf(files[i - 1].packed) >= f) return Status::Corruption("peer file list not sorted");
      const auto& holders = files_[f].holders;
      if (files[i].slot >= holders.size() || holders[files[i].slot] != Pack(p, StateOf(files[i].packed))) {
        return Status::Corruption(fmt::format("peer {} file {}: slot {} does not point back", p, f, files[i].slot));
      }
    }
    from_peers += files.size();
  }
  for (const auto& [id, f] : file_index_) {
    if (files_[f].holders.empty()) return Status::Corruption("an interned file has no holder");
    from_files += files_[f].holders.size();
  }
  if (from_peers != entries_ || from_files != entries_) {
    return Status::Corruption(fmt::format("entries {} but peers list {} and files list {}", entries_, from_peers,
                                          from_files));
  }
  std::uint64_t linked = 0;
  for (std::uint32_t p = oldest_; p != kNone; p = peers_[p].newer) ++linked;
  if (linked != peer_index_.size()) return Status::Corruption("expiry list and peer index disagree");
  return Status::Ok();
}

TableStats AvailabilityTable::stats() const {
  return TableStats{peer_index_.size(), file_index_.size(), entries_, reports_, queries_, expired_};
}

}  // namespace lanswarm::coordinator
