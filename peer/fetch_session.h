// The downloading side of one peer-to-peer connection: once the session's
// handshake is done (net/session.h), OPEN of one file, then REQUESTs out and
// BITFIELD/HAVE/CHUNK/REJECT in.
//
// The session reads the stream in exact steps (exact_reads), and chunk data
// in pieces of at most 1 MiB into this handler's one page-aligned buffer,
// where it is hashed (with the file's digest, streamed piece by piece) and
// from where it is written to disk: one copy, and memory per connection
// bounded by the piece size whatever the chunk size.
//
// It decides nothing: every event goes to FetchEvents (peer/downloader),
// which owns the download state.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <unordered_set>

#include "common/aligned_buffer.h"
#include "common/auth/key_ring.h"
#include "common/net/session.h"
#include "common/proto/messages.h"
#include "fileinfo/chunk_hasher.h"
#include "fileinfo/fileinfo.h"
#include "peer/chunk_picker.h"

namespace lanswarm::peer {

class FetchSession;

class FetchEvents {
 public:
  virtual ~FetchEvents() = default;
  virtual void OnFetchConnected(PeerKey key, FetchSession* session) = 0;
  // `gated`: the holder sends only what it grants (OnFetchGrant).
  virtual void OnFetchBitfield(PeerKey key, const Bitfield& has, bool gated) = 0;
  virtual void OnFetchGrant(PeerKey key) = 0;
  virtual void OnFetchHave(PeerKey key, std::uint32_t index) = 0;
  // A chunk's data begins: false to receive and drop it (already verified).
  virtual bool OnFetchChunkStart(PeerKey key, std::uint32_t index) = 0;
  // `len` bytes of chunk `index` at `offset` within it, not yet verified.
  // A false return (a disk error) drops the chunk.
  virtual bool OnFetchPiece(PeerKey key, std::uint32_t index, std::uint32_t offset, const std::uint8_t* data,
                            std::size_t len) = 0;
  // The whole chunk arrived; `good` says whether it matched its digest in
  // the .fileinfo (with the file's algorithm: XXH3, SHA-256 or BLAKE2b).
  virtual void OnFetchChunkDone(PeerKey key, std::uint32_t index, bool good) = 0;
  virtual void OnFetchReject(PeerKey key, std::uint32_t index, proto::RejectReason why) = 0;
  virtual void OnFetchClosed(PeerKey key, const Status& why) = 0;
};

class FetchSession : public net::SessionHandler {
 public:
  // `listed` is the id the coordinator gave for the holder: a holder that
  // proves another id in the handshake is dropped before anything is asked
  // of it (and never banned under the listed id). `me` is this peer's key
  // pair.
  FetchSession(std::weak_ptr<FetchEvents> events, PeerKey key, const proto::PeerId& listed,
               std::shared_ptr<const auth::Identity> me, std::shared_ptr<const auth::KeyRing> keys,
               std::shared_ptr<const FileInfo> info);

  // Connects to `to` and runs `session` there: OnFetchConnected once the
  // handshake is done, OnFetchClosed in every case.
  static void Start(net::Loop& loop, const net::SocketAddress& to, Clock::Duration timeout,
                    std::unique_ptr<FetchSession> session);

  void Request(const std::vector<std::uint32_t>& chunks);
  void Cancel(std::uint32_t index);
  // INTEREST with proto::Interest's flags.
  void Interest(std::uint8_t flags);
  void Close(const Status& why);
  PeerKey key() const { return key_; }

  // net::SessionHandler
  void OnReady(net::Session& s) override;
  void OnMessage(net::Session& s, const proto::Message& m) override;
  std::span<std::uint8_t> OnChunkStart(net::Session& s, const proto::ChunkHeader& h) override;
  void OnChunkPiece(net::Session& s, std::uint32_t offset, std::size_t len) override;
  void OnChunkEnd(net::Session& s) override;
  void OnClosed(net::Session& s, const Status& why) override;

 private:
  static constexpr std::uint16_t kSlot = 1;
  // Frames other than CHUNK data: BITFIELD of 2^20 chunks is the largest.
  static constexpr std::uint32_t kMaxPayload = (1u << 17) + 64;

  std::weak_ptr<FetchEvents> events_;
  PeerKey key_;
  proto::PeerId listed_;
  std::shared_ptr<const auth::Identity> me_;
  std::shared_ptr<const auth::KeyRing> keys_;
  std::shared_ptr<const FileInfo> info_;
  net::Session* session_ = nullptr;  // set once ready, null once closed

  // The chunk whose data is arriving.
  std::uint32_t chunk_ = 0;
  bool chunk_keep_ = false;
  ChunkHasher hash_;  // of info_'s algorithm
  std::unique_ptr<AlignedBuffer> buffer_;
};

}  // namespace lanswarm::peer
