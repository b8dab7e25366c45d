// Serving chunks to other peers: one ServeSession per incoming connection,
// all sharing a ServeContext (the registry, the upload cap, open files).
//
// Contract: a chunk leaves this peer only after its bytes, as read from
// disk for this very send, matched its digest in the .fileinfo (XXH3-64,
// SHA-256 or BLAKE2b-256, as the file names). A mismatch
// means the file changed under us: the file stops being served and the
// daemon is told (on_changed).
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/aligned_buffer.h"
#include "common/clock.h"
#include "common/net/loop.h"
#include "common/net/session.h"
#include "common/proto/messages.h"
#include "common/token_bucket.h"
#include "peer/config.h"
#include "peer/registry.h"
#include "peer/spread_tracker.h"
#include "peer/upload_scheduler.h"

namespace lanswarm::peer {

class ServeSession;

// An open data file; closed when the last read using it is done.
struct FileHandle {
  explicit FileHandle(int f) : fd(f) {}
  ~FileHandle();
  int fd;
};

// Reusable page-aligned chunk buffers. A fresh buffer per chunk costs an
// mmap, a page fault per 4 KiB and a munmap; these are kept and reused.
// Buffers come back when the last shared_ptr to them (usually the send
// queue's) is released.
class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  explicit BufferPool(std::size_t keep) : keep_(keep) {}
  std::shared_ptr<AlignedBuffer> Get(std::size_t size);

 private:
  std::size_t keep_;  // idle buffers kept at most
  std::vector<std::unique_ptr<AlignedBuffer>> idle_;
};

// What the serving connections share: the node's registry (read, and
// marked when a served file turns out changed), open data files, chunk
// buffers, the upload cap and the first-copies-first rule. Serving state
// only; the node's identity, keys and bans are peer/node's.
struct ServeContext {
  // `registry` must outlive this (peer/node owns it).
  ServeContext(const Clock& c, const Config& cfg, Registry& reg)
      : clock(c), config(cfg), registry(reg),
        upload(c, cfg.upload_rate, std::max<std::uint64_t>(cfg.upload_rate / 10, 1 << 20)) {
    if (cfg.upload_slots > 0) grants.emplace(UploadOptions{.slots = cfg.upload_slots});
  }

  // Opens (once) the data file of `f`; null with a log line when it cannot.
  std::shared_ptr<FileHandle> Open(const SharedFile& f);
  // Forgets the open file (after unshare or change); reads in flight finish.
  void Close(const FileId& id) {
    handles.erase(id);
    spread.erase(id);
  }
  // Starts handing out `f`'s chunks once each before any twice, when it is
  // whole: for copies shared whole (the ones a swarm starts from), not for
  // copies a download here completed (the swarm has most of those chunks).
  void TrackSpread(const SharedFile& f);
  // Pushes HAVE to every session that has `id` open.
  void BroadcastHave(const FileId& id, std::uint32_t index);
  // Sends the GRANTs the scheduler gives now (after any change, and once a
  // second for grants that lapsed).
  void RunGrants();

  const Clock& clock;
  Config config;
  Registry& registry;
  TokenBucket upload;
  std::shared_ptr<BufferPool> buffers = std::make_shared<BufferPool>(64);
  std::unordered_map<FileId, std::shared_ptr<FileHandle>> handles;
  std::unordered_set<ServeSession*> sessions;
  // The uploader's choice (config upload_slots > 0): keys are a session's
  // id << 16 | the getter's slot.
  std::optional<UploadScheduler> grants;
  std::unordered_map<std::uint64_t, ServeSession*> by_id;
  std::uint64_t next_session_id = 1;
  std::unordered_map<FileId, SpreadTracker> spread;
  std::uint64_t uploaded_bytes = 0;
  // Called when a served file turns out changed on disk (its chunk failed).
  std::function<void(SharedFile&, const Status&)> on_changed;
};

// The handler of one authenticated serving connection (net::Session does
// the framing, the handshake and the error close).
class ServeSession : public net::SessionHandler {
 public:
  explicit ServeSession(std::shared_ptr<ServeContext> ctx);
  ~ServeSession() override;

  void OnReady(net::Session& s) override { session_ = &s; }
  void OnMessage(net::Session& s, const proto::Message& m) override;
  void OnSent(net::Session&) override;
  bool busy() const override { return !queue_.empty() || reading_; }
  void OnClosed(net::Session& s, const Status& why) override;

  void SendHave(const FileId& id, std::uint32_t index);
  void SendGrant(std::uint16_t slot);
  std::uint64_t id() const { return id_; }

 private:
  struct Pending {
    std::uint16_t slot;
    std::uint32_t index;
    bool granted = false;  // within a grant (the scheduler's slot is its)
  };
  UploadScheduler::ConnKey KeyOf(std::uint16_t slot) const { return id_ << 16 | slot; }
  void OnInterest(const proto::Interest& i);
  // The granted request for `slot` was refused, or dropped unsent.
  void Refused(const Pending& p);
  void OnRequest(const proto::Request& r);
  void Reject(std::uint16_t slot, std::uint32_t index, proto::RejectReason why);
  // Starts the next read when the connection has room and the cap allows.
  void Pump();
  // The read of a chunk for `next` has finished: checks it and sends it.
  void OnChunkRead(const FileId& id, Pending next, const std::shared_ptr<AlignedBuffer>& buf, std::uint32_t len,
                   Result<std::size_t> got);

  std::shared_ptr<ServeContext> ctx_;
  std::uint64_t id_;
  bool takes_grants_ = false;               // it sent INTEREST: it asks only within grants
  // Granted chunks in the send queue: their slot, and the session's
  // sent_bytes() once their last byte has left.
  std::vector<std::pair<std::uint16_t, std::uint64_t>> granted_out_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // read callbacks check it
  net::Session* session_ = nullptr;  // set once ready, null once closed
  std::unordered_map<std::uint16_t, FileId> slots_;
  std::deque<Pending> queue_;
  bool reading_ = false;
  net::Loop::TimerId cap_timer_ = 0;
  // Chunks this connection was sent while their file's SpreadTracker
  // counted them: given back to it when the connection closes.
  std::vector<std::pair<FileId, std::uint32_t>> spread_sent_;
};

}  // namespace lanswarm::peer
