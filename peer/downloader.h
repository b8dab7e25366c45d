// One `peer get` running inside a peer node (the daemon, or `peer get`
// itself when no daemon runs): finds holders through the coordinator,
// keeps connections to several of them, and lets peer/download decide
// what to request from whom. Verified chunks are written to <out>.partial,
// served to others at once (partial seeding, HAVE to every connection that
// has the file open, state 1 in the next report), and the finished file is
// renamed to <out> and shared whole.
//
// Failures of one holder (disconnect, REJECT, bad checksum, timeout) only
// move its chunks elsewhere; the download itself fails only on a local
// error (disk full, I/O), on Cancel, or when no holder could be used for
// `holder_timeout`. A failed download keeps its .partial.
//
// It is wiring: peer/download_driver makes every decision (what to request
// from whom, whom to connect, drop or ban, when to ask the coordinator and
// when to give up) and this carries them out over sessions, the coordinator
// link and peer/storage, which does the writing and the re-reading.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/bitfield.h"
#include "common/net/loop.h"
#include "common/rate_window.h"
#include "peer/ban_list.h"
#include "peer/coordinator_link.h"
#include "peer/download.h"
#include "peer/download_driver.h"
#include "peer/fetch_session.h"
#include "peer/holder_set.h"
#include "peer/node.h"
#include "peer/storage.h"

namespace lanswarm::peer {

struct GetRequest {
  std::string fileinfo_path;  // absolute
  std::string out;            // absolute; the data goes to PartialPath(out) first
  Bitfield held;              // chunks of the .partial already verified (size 0: none)
  std::optional<FileIdentity> partial_identity;  // the .partial ReservePartial checked, when known
  std::chrono::seconds holder_timeout{60};
  std::uint32_t max_peers = 32;  // holders downloaded from at once (config download_peers)
  std::uint64_t seed = 0;       // the picker's tie-break
};

// What a downloader needs from the node it runs in. All must outlive it.
struct DownloadEnv {
  net::Loop* loop = nullptr;
  Node* node = nullptr;  // identity, keys, bans, and the registry entry of the download
  CoordinatorLink* link = nullptr;
};

class Downloader : public FetchEvents, DriverActions, public std::enable_shared_from_this<Downloader> {
 public:
  using DoneFn = std::function<void(const Status&)>;

  // Opens the .partial (which ReservePartial made) and starts. `done` runs
  // once, from the loop, when the file is complete or the download failed.
  static Result<std::shared_ptr<Downloader>> Start(const DownloadEnv& env, GetRequest request, DoneFn done);
  ~Downloader() override;

  // Stops now and keeps the .partial; `done` gets `why`.
  void Cancel(const Status& why);

  // The progress as JSON (the fields are listed in doc/peer.md).
  nlohmann::json Progress() const;
  bool finished() const { return finished_; }
  bool succeeded() const { return finished_ && result_.ok(); }
  const std::string& out() const { return request_.out; }
  const FileId& id() const { return info_->id; }

  // FetchEvents
  void OnFetchConnected(PeerKey key, FetchSession* session) override;
  void OnFetchBitfield(PeerKey key, const Bitfield& has, bool gated) override;
  void OnFetchGrant(PeerKey key) override;
  void OnFetchHave(PeerKey key, std::uint32_t index) override;
  bool OnFetchChunkStart(PeerKey key, std::uint32_t index) override;
  bool OnFetchPiece(PeerKey key, std::uint32_t index, std::uint32_t offset, const std::uint8_t* data,
                    std::size_t len) override;
  void OnFetchChunkDone(PeerKey key, std::uint32_t index, bool good) override;
  void OnFetchReject(PeerKey key, std::uint32_t index, proto::RejectReason why) override;
  void OnFetchClosed(PeerKey key, const Status& why) override;

 private:
  Downloader(const DownloadEnv& env, GetRequest request, std::shared_ptr<const FileInfo> info, int fd,
             DoneFn done);
  void Begin();

  // DriverActions
  void Query() override;
  void Connect(PeerKey key, const HolderSet::Holder& holder) override;
  void Request(PeerKey key, const std::vector<std::uint32_t>& chunks) override;
  void CancelRequest(PeerKey key, std::uint32_t index) override;
  void Interest(PeerKey key, std::uint8_t flags) override;
  void Close(PeerKey key, const Status& why) override;
  void Verified(std::uint32_t index) override;
  void Finished(const Status& why) override { Finish(why); }

  void OnHolders(Result<std::vector<proto::Holder>> holders);
  // The chunk `key` was sending is no longer being written (done, dropped, closed).
  void StopReceiving(PeerKey key);
  void Finish(const Status& why);
  void CloseSessions();
  FetchSession* SessionOf(PeerKey key) const;  // null when not connected
  Clock::TimePoint now() const { return env_.loop->clock().now(); }

  DownloadEnv env_;
  GetRequest request_;
  std::shared_ptr<const FileInfo> info_;
  int fd_;
  DoneFn done_;
  DownloadDriver driver_;
  // The connected holders' sessions. A closed one's entry becomes null and
  // stays, so a session callback during a walk over them cannot invalidate it.
  std::map<PeerKey, FetchSession*> sessions_;

  // Endgame copies of one chunk may be written concurrently by two peers;
  // such a chunk is read back and checked before it counts as verified.
  std::vector<std::uint8_t> receiving_;
  std::vector<std::uint8_t> overlapped_;
  std::map<PeerKey, std::uint32_t> current_;  // chunk each peer is sending now

  net::Loop::TimerId tick_timer_ = 0;
  Clock::TimePoint started_;

  std::uint32_t resumed_chunks_ = 0;
  std::uint64_t bytes_verified_ = 0, bytes_received_ = 0;
  RateWindow rate_{std::chrono::seconds(5)};  // of bytes_verified_
  bool finished_ = false;
  Status result_;
  double elapsed_at_finish_ = 0;
};

}  // namespace lanswarm::peer
