// Holders banned from serving us one file: a holder whose chunks of a file
// fail their checksum `after_bad_chunks` times, or that stalls
// `after_stalls` times in a row, is not used for that file until `cooldown`
// has passed. One list per daemon, shared by its downloads, so a ban
// outlives the download that earned it (a second `peer get` of the same
// file through the same daemon skips the holder).
//
// A stall is a request the holder left unanswered past its timeout (a
// chunk past peer/download's RequestTimeout at under kProgressFloor, or an OPEN never answered with
// a BITFIELD): what a holder that claims every chunk and sends nothing, or
// sends a byte a second, does. Stalls count in a row: a good chunk from the
// holder clears them, so an honest holder that is sometimes slow is never
// banned for it, while bad chunks add up whatever comes between them.
//
// A holder is named by its peer id, as the coordinator's HOLDERS list gives
// it: the id is what a peer keeps across restarts and address changes (its
// state directory's identity.key), several peers may share one address (one
// machine, several ports), and the holder proved it in the handshake
// (FetchSession drops a holder whose proven id is not the listed one).
// The address is kept only to name the holder in logs and in `peer status`.
//
// Pure: no sockets, no clock of its own; every call takes `now` from the
// caller's Clock. Not thread-safe (one loop owns it).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/proto/messages.h"
#include "common/file_id.h"

namespace lanswarm::peer {

struct BanPolicy {
  std::uint32_t after_bad_chunks = 3;                    // K; REQUIRES: >= 1
  // Why 3: a stall takes at least max(4 s, 4 s per MiB) with no chunk, and
  // between its connections a staller waits 2 s, then 4 s (HolderSet), so
  // three in a row are at least 18 s in which the holder delivered nothing,
  // where a LAN moves a chunk in milliseconds. An honest holder that is
  // briefly slow (a disk hiccup, an upload shared by many getters) delivers
  // a chunk in between, which clears its stalls; one that cannot for 18 s
  // is of no use to the download anyway. A staller costs each getter at
  // most 3 stalled requests per file per cool-down.
  std::uint32_t after_stalls = 3;                        // REQUIRES: >= 1
  Clock::Duration cooldown = std::chrono::minutes(10);  // REQUIRES: > 0
};

enum class BanReason : std::uint8_t { kBadChunks, kStalls };

struct Ban {
  FileId file;
  proto::PeerId peer{};
  std::string file_name;   // for people: logs and `peer status`
  std::string address;     // the holder's address at its last strike
  BanReason reason = BanReason::kBadChunks;  // which count reached its threshold
  std::uint32_t bad_chunks = 0;
  std::uint32_t stalls = 0;  // in a row
  Clock::TimePoint until{};
};

// Why `ban` was earned, for people: "3 chunks failed their checksum",
// "1 request stalled".
std::string BanCause(const Ban& ban);

class BanList {
 public:
  explicit BanList(BanPolicy policy = {});

  // One chunk of `file` from `peer` failed its checksum. Returns the ban
  // when this failure is the K-th: exactly once per ban, so the caller logs
  // it then. A failure while the peer is banned already (a chunk that was
  // in flight when the ban began) changes nothing and returns nullopt.
  // Strikes below K are forgotten once `cooldown` passes without another.
  std::optional<Ban> OnBadChunk(const FileId& file, const proto::PeerId& peer, std::string_view file_name,
                                std::string_view address, Clock::TimePoint now);
  // One request to `peer` for `file` stalled. Returns the ban when this is
  // the after_stalls-th in a row, like OnBadChunk.
  std::optional<Ban> OnStall(const FileId& file, const proto::PeerId& peer, std::string_view file_name,
                             std::string_view address, Clock::TimePoint now);
  // A chunk of `file` from `peer` matched its checksum: its stalls so far
  // are forgiven (its bad chunks are not).
  void OnGoodChunk(const FileId& file, const proto::PeerId& peer);

  // True while a ban of `peer` for `file` is in force at `now`.
  bool Banned(const FileId& file, const proto::PeerId& peer, Clock::TimePoint now) const;

  // The bans in force at `now`, the soonest to end first.
  std::vector<Ban> Active(Clock::TimePoint now) const;

  // Drops the bans that ended by `now` (their peers start again from no
  // strike) and strikes older than the cool-down. Returns the ended bans,
  // for the log. Call it now and then; lookups ignore ended bans anyway.
  std::vector<Ban> Expire(Clock::TimePoint now);

  const BanPolicy& policy() const { return policy_; }
  std::size_t size() const { return entries_.size(); }  // bans and strikes kept

 private:
  struct Key {
    FileId file;
    proto::PeerId peer;
    friend auto operator<=>(const Key&, const Key&) = default;
  };
  struct Entry {
    Ban ban;                         // bad_chunks and stalls count the strikes
    Clock::TimePoint last_strike{};
    bool banned = false;             // ban.until is meaningful
  };
  // Over: a ban that has ended, or strikes that have aged out.
  bool Over(const Entry& e, Clock::TimePoint now) const;
  std::optional<Ban> OnStrike(BanReason kind, const FileId& file, const proto::PeerId& peer,
                              std::string_view file_name, std::string_view address, Clock::TimePoint now);

  BanPolicy policy_;
  std::map<Key, Entry> entries_;
};

}  // namespace lanswarm::peer
