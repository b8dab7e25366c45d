// The coordinator's soft-state table: which peers hold which files.
//
// Pure: no sockets, time from an injected clock. Peers report their whole
// availability every N seconds; a REPORT replaces the peer's previous one
// (a file missing from it is dropped; state 0 means gone). A peer whose last
// report is k x N old is dead: QUERY never returns it, and Sweep() reclaims
// its entries, a bounded number per call so the work spreads over ticks.
//
// Memory: each (file, peer) entry costs 12 bytes: 8 in the peer's file list
// (file, state, position in the file's holder list) and 4 in the file's
// holder list (peer, state). Removing one is O(log files of a peer), so
// dropping a peer never scans the holders of a popular file.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/file_id.h"
#include "common/proto/messages.h"
#include "common/status.h"
#include "common/swarm_tree.h"
#include "coordinator/holder_list.h"

namespace lanswarm::coordinator {

struct TableLimits {
  std::uint32_t max_peers = 100000;
  std::uint32_t max_files_per_report = 100000;
  std::uint64_t max_entries = 10000000;
  std::uint32_t max_holders_per_answer = 50;
  // Quotas per source address (where the REPORTs come from), so that one
  // machine cannot fill the table and keep a real peer's share out: ids
  // are proven, but anyone can make key pairs.
  std::uint32_t max_peers_per_address = 64;
  std::uint64_t max_entries_per_address = 1000000;
};

struct TableStats {
  std::uint64_t peers = 0;
  std::uint64_t files = 0;
  std::uint64_t entries = 0;
  std::uint64_t reports = 0;       // accepted since start
  std::uint64_t queries = 0;
  std::uint64_t expired_peers = 0; // dropped by Sweep since start
};

class AvailabilityTable {
 public:
  // `expiry` is k x N. `hash_key` keys the SipHash of peer and file ids, so
  // ids chosen by peers cannot be crafted to collide; use random bytes.
  AvailabilityTable(const Clock& clock, Clock::Duration expiry, TableLimits limits,
                    const std::array<std::uint8_t, 16>& hash_key);
  AvailabilityTable(const AvailabilityTable&) = delete;
  AvailabilityTable& operator=(const AvailabilityTable&) = delete;

  // Replaces all that is known from `peer` with `files` and stamps the
  // peer's report time. Duplicate files keep their highest state. `source`
  // is the address the report came from (its port is ignored); the 3-form
  // takes `endpoint`'s. Errors (the table is unchanged): more files than
  // max_files_per_report, a new peer or new entries beyond max_peers /
  // max_entries, or beyond the quotas of `source`. `upload_bytes_per_second`
  // is the peer's own figure for its uplink (0: not known), which orders the
  // trees of Query.
  Status Report(const proto::PeerId& peer, const proto::Endpoint& endpoint,
                std::span<const proto::ReportEntry> files, const proto::Endpoint& source,
                std::uint64_t upload_bytes_per_second = 0);
  Status Report(const proto::PeerId& peer, const proto::Endpoint& endpoint,
                std::span<const proto::ReportEntry> files) {
    return Report(peer, endpoint, files, endpoint);
  }

  // Holders of `file` that are alive, whole copies before partial ones, at
  // most max_holders_per_answer, never `asker`; the asker's two tree parents
  // first (flagged). The trees are common/swarm_tree's over the file's
  // partial holders: in slot order while no member reported an upload under
  // half the median of the reported figures (unknown is not weak), by
  // upload otherwise, so that weak uplinks are leaves. Successive queries start at
  // rotating offsets, so a popular file's load spreads over its holders.
  std::vector<proto::Holder> Query(const FileId& file, const proto::PeerId& asker);

  // Drops at most `budget` peers whose last report is at least `expiry`
  // old; returns how many.
  std::size_t Sweep(std::size_t budget);

  TableStats stats() const;
  bool IsAlive(const proto::PeerId& peer) const;

  // Verifies every internal cross-reference; O(entries), for tests.
  Status CheckConsistency() const;

 private:
  static constexpr std::uint32_t kNone = 0xFFFFFFFF;
  // A 30-bit index and a 2-bit state in one word.
  static constexpr std::uint32_t Pack(std::uint32_t index, proto::FileState s) {
    return index | static_cast<std::uint32_t>(s) << 30;
  }
  static constexpr std::uint32_t IndexOf(std::uint32_t packed) { return packed & 0x3FFFFFFF; }
  static constexpr proto::FileState StateOf(std::uint32_t packed) {
    return static_cast<proto::FileState>(packed >> 30);
  }

  // A source address: family, then the 16 address bytes.
  using Source = std::array<std::uint8_t, 17>;
  struct SourceUse {
    std::uint32_t peers = 0;
    std::uint64_t entries = 0;
  };

  struct PeerFile {
    std::uint32_t packed;  // Pack(file index, state)
    std::uint32_t slot;    // where this peer sits in that file's holders
  };
  struct Peer {
    proto::PeerId id{};
    proto::Endpoint endpoint;
    Source source{};
    Clock::TimePoint last_report{};
    std::uint64_t upload = 0;     // bytes/s as reported; 0 = not known
    std::vector<PeerFile> files;  // sorted by file index
    std::uint32_t older = kNone, newer = kNone;  // the list ordered by last report
  };
  struct File {
    FileId id;
    HolderList holders;  // Pack(peer index, state), unordered
  };
  struct KeyedHash {
    std::array<std::uint8_t, 16> key;
    std::size_t operator()(const proto::PeerId& id) const { return Hash(id.data()); }
    std::size_t operator()(const FileId& id) const { return Hash(id.bytes.data()); }
    std::size_t Hash(const std::uint8_t* bytes16) const;
  };

  bool Expired(const Peer& p, Clock::TimePoint now) const { return now - p.last_report >= expiry_; }
  std::uint32_t InternFile(const FileId& id);
  // Appends and returns the slot.
  std::uint32_t AddHolder(std::uint32_t file, std::uint32_t peer, proto::FileState s);
  // Removes the holder at `slot`, moving the last holder into it.
  void RemoveHolder(std::uint32_t file, std::uint32_t slot);
  void Unlink(std::uint32_t peer);
  void LinkNewest(std::uint32_t peer);
  void DropPeer(std::uint32_t peer);
  // Checks `source`'s quotas for `peer` (kNone: a new one) reporting `count` files.
  Status CheckQuota(const Source& source, std::uint32_t peer, std::size_t count) const;
  // Takes `peer`'s use (itself, its files) off its source's count.
  void Release(const Peer& peer);

  const Clock& clock_;
  Clock::Duration expiry_;
  TableLimits limits_;

  std::vector<Peer> peers_;
  std::vector<std::uint32_t> free_peers_;
  std::unordered_map<proto::PeerId, std::uint32_t, KeyedHash> peer_index_;
  std::vector<File> files_;
  std::vector<std::uint32_t> free_files_;
  std::unordered_map<FileId, std::uint32_t, KeyedHash> file_index_;
  std::uint32_t oldest_ = kNone, newest_ = kNone;
  std::map<Source, SourceUse> sources_;  // one per address with live peers
  // The trees by upload of files with weak members, as last built (Query).
  struct TreeCache {
    std::vector<std::uint32_t> members;  // packed holders, in slot order
    std::vector<double> uploads;
    std::optional<SwarmTree> tree;
  };
  std::unordered_map<std::uint32_t, TreeCache> trees_;  // by file index

  std::uint64_t entries_ = 0;
  std::uint64_t reports_ = 0, queries_ = 0, expired_ = 0;
  std::uint64_t rotation_ = 0;  // start offset of the next query's scan
};

}  // namespace lanswarm::coordinator
