// Holders banned from serving us one file: a holder whose chunks of a file
// fail their checksum `after_bad_chunks` times is not used for that
// file until `cooldown` has passed. One list per daemon, shared by its
// downloads, so a ban outlives the download that earned it (a second
// `peer get` of the same file through the same daemon skips the holder).
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
  Clock::Duration cooldown = std::chrono::minutes(10);  // REQUIRES: > 0
};

struct Ban {
  FileId file;
  proto::PeerId peer{};
  std::string file_name;   // for people: logs and `peer status`
  std::string address;     // the holder's address at its last bad chunk
  std::uint32_t bad_chunks = 0;
  Clock::TimePoint until{};
};

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
    Ban ban;                         // bad_chunks counts the strikes
    Clock::TimePoint last_bad{};
    bool banned = false;             // ban.until is meaningful
  };
  // Over: a ban that has ended, or strikes that have aged out.
  bool Over(const Entry& e, Clock::TimePoint now) const;

  BanPolicy policy_;
  std::map<Key, Entry> entries_;
};

}  // namespace lanswarm::peer
