// One peer node's shared state: who it is (peer id, cluster keys), what it
// shares (the registry, saved on every change), the holders it has banned,
// and every change of a shared file's state, made here and only here so
// that each is saved, announced and reported the same way.
//
// Pure: no sockets. What a change means for the network (HAVE to the
// connections that have the file open, a file handle to drop, a REPORT due
// now) goes to NodeEvents, which the daemon wires to the serving side and
// the coordinator link.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/auth/identity.h"
#include "common/auth/key_ring.h"
#include "common/clock.h"
#include "common/peer_id.h"
#include "common/status.h"
#include "peer/ban_list.h"
#include "peer/config.h"
#include "peer/registry.h"

namespace lanswarm::peer {

class NodeEvents {
 public:
  virtual ~NodeEvents() = default;
  // The node holds chunk `index` of `id` now (a download verified it, or a
  // repaired copy was shared again): tell those who have the file open.
  virtual void OnChunkGained(const FileId& id, std::uint32_t index) = 0;
  // `id`'s entry was replaced or removed, or its file stopped being served:
  // what is open for it is stale.
  virtual void OnFileReset(const FileId& id) = 0;
  // `f` is shared anew (a whole copy may be spread from here: SpreadTracker).
  virtual void OnFileShared(const SharedFile& f) = 0;
  // The set or the states of shared files changed: report soon.
  virtual void ReportNow() = 0;
};

class Node {
 public:
  // `events` must outlive the node; it may be replaced (SetEvents) before
  // the first change.
  // `identity` is this peer's key pair; self() is its id.
  Node(const Config& config, std::shared_ptr<const auth::Identity> identity, std::shared_ptr<const auth::KeyRing> keys,
       std::string registry_path, Registry registry);

  void SetEvents(NodeEvents* events) { events_ = events; }

  const Config& config() const { return config_; }
  const PeerId& self() const { return identity_->peer_id(); }
  const std::shared_ptr<const auth::Identity>& identity() const { return identity_; }
  const std::shared_ptr<const auth::KeyRing>& keys() const { return keys_; }
  Registry& registry() { return registry_; }
  const Registry& registry() const { return registry_; }
  BanList& bans() { return bans_; }

  // Writes the registry; a failure is logged, not returned: serving goes on.
  void Save();

  // Shares the files the config lists that the registry does not know yet,
  // hashing each (this runs before the loop does).
  void ShareConfigured();
  // Shares `f` (already verified by the CLI). Refused when the file on disk
  // no longer matches what was verified. Chunks held now and not before are
  // announced.
  Status Share(SharedFile f);
  // Stops sharing by file id, data path or .fileinfo path.
  Status Unshare(const std::string& target);
  // `f` vanished, changed on disk or failed a chunk's checksum: it is not
  // served from now on and is reported as gone.
  void StopServing(SharedFile& f, const Status& why);
  // Checks every shared file on disk; true when one stopped being served.
  bool CheckDisk();

  // A download of `info` to the .partial `partial` begins, holding `held`:
  // the node serves those chunks at once and is a holder from now on.
  void BeginDownload(const std::string& partial, const std::string& fileinfo_path, const FileInfo& info,
                     const Bitfield& held);
  // A download verified chunk `index`.
  void ChunkVerified(const FileId& id, std::uint32_t index);
  // The download of `id` is complete and renamed to `path`: shared whole.
  void CommitDownload(const FileId& id, const std::string& path);

 private:
  Config config_;
  std::shared_ptr<const auth::Identity> identity_;
  std::shared_ptr<const auth::KeyRing> keys_;
  std::string registry_path_;
  Registry registry_;
  BanList bans_;
  NodeEvents* events_ = nullptr;
};

}  // namespace lanswarm::peer
