// The downloading side of one peer-to-peer connection: HELLO both ways (and
// AUTH with a cluster key), OPEN of one file, then REQUESTs out and
// BITFIELD/HAVE/CHUNK/REJECT in.
//
// It reads the stream in exact steps (frame header, payload, chunk data in
// pieces of at most 1 MiB) with Connection::ReceiveInto, so chunk data goes
// from the socket into one page-aligned buffer, is hashed there and written
// to disk from there: one copy, and memory per connection bounded by the
// piece size whatever the chunk size.
//
// It decides nothing: every event goes to FetchEvents (peer/downloader),
// which owns the download state.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <unordered_set>

#include "common/aligned_buffer.h"
#include "common/auth/handshake.h"
#include "common/net/connection.h"
#include "common/proto/messages.h"
#include "fileinfo/checksum.h"
#include "fileinfo/fileinfo.h"
#include "peer/chunk_picker.h"

namespace lanswarm::peer {

class FetchSession;

class FetchEvents {
 public:
  virtual ~FetchEvents() = default;
  virtual void OnFetchConnected(PeerKey key, FetchSession* session) = 0;
  virtual void OnFetchBitfield(PeerKey key, const Bitfield& has) = 0;
  virtual void OnFetchHave(PeerKey key, std::uint32_t index) = 0;
  // A chunk's data begins: false to receive and drop it (already verified).
  virtual bool OnFetchChunkStart(PeerKey key, std::uint32_t index) = 0;
  // `len` bytes of chunk `index` at `offset` within it, not yet verified.
  // A false return (a disk error) drops the chunk.
  virtual bool OnFetchPiece(PeerKey key, std::uint32_t index, std::uint32_t offset, const std::uint8_t* data,
                            std::size_t len) = 0;
  // The whole chunk arrived; `good` says whether it matched its XXH3.
  virtual void OnFetchChunkDone(PeerKey key, std::uint32_t index, bool good) = 0;
  virtual void OnFetchReject(PeerKey key, std::uint32_t index, proto::RejectReason why) = 0;
  virtual void OnFetchClosed(PeerKey key, const Status& why) = 0;
};

class FetchSession : public net::ConnectionHandler {
 public:
  FetchSession(std::weak_ptr<FetchEvents> events, PeerKey key, const proto::PeerId& self,
               std::shared_ptr<const auth::KeyRing> keys, std::shared_ptr<const FileInfo> info);

  void Request(const std::vector<std::uint32_t>& chunks);
  void Cancel(std::uint32_t index);
  void Close(const Status& why);
  PeerKey key() const { return key_; }

  void OnConnected(net::Connection& c) override;
  void OnData(net::Connection&, ByteView) override {}  // every byte goes through ReceiveInto
  void OnClosed(net::Connection& c, const Status& why) override;

 private:
  static constexpr std::uint16_t kSlot = 1;
  // Frames other than CHUNK data: BITFIELD of 2^20 chunks is the largest.
  static constexpr std::uint32_t kMaxPayload = (1u << 17) + 64;

  void ReadHeader();
  void OnHeader();
  void OnFrame();
  void ReadPiece();
  void OnPiece();
  void Fail(const std::string& why, proto::ErrorCode code = proto::ErrorCode::kProtocol);

  std::weak_ptr<FetchEvents> events_;
  PeerKey key_;
  std::shared_ptr<const auth::KeyRing> keys_;  // outlives handshake_
  auth::ConnectorHandshake handshake_;
  std::shared_ptr<const FileInfo> info_;
  net::Connection* conn_ = nullptr;
  bool got_hello_ = false;
  bool got_bitfield_ = false;

  std::array<std::uint8_t, proto::kFrameHeaderSize> header_{};
  Bytes frame_;  // header + payload of the frame being read

  // The chunk whose data is arriving.
  std::uint32_t chunk_ = 0;
  std::uint32_t chunk_len_ = 0, chunk_got_ = 0, piece_len_ = 0;
  bool chunk_keep_ = false;
  StreamingChunkHash hash_;
  std::unique_ptr<AlignedBuffer> buffer_;
};

}  // namespace lanswarm::peer
