// Every message lanswarm sends over TCP, as plain structs. doc/protocol.md
// is the specification; common/proto/codec.h turns these into frames.
//
// No socket headers here: addresses travel as Endpoint bytes, and
// common/net converts them at the edge.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "common/bytes.h"
#include "common/chunk_layout.h"
#include "common/file_id.h"
#include "common/peer_id.h"

namespace lanswarm::proto {

// "LSWM" read as a little-endian u32.
inline constexpr std::uint32_t kMagic = 0x4D57534C;
inline constexpr std::uint16_t kProtocolVersion = 4;
// [u32 payload length][u8 type]
inline constexpr std::size_t kFrameHeaderSize = 5;
// Hard ceiling on a frame's payload; connections may set lower limits.
inline constexpr std::uint32_t kMaxFramePayload = 4u << 20;
inline constexpr std::size_t kNonceSize = 32;
inline constexpr std::size_t kMaxAuthBytes = 64;
// A node's Ed25519 public key and a signature by it (common/auth/identity.h).
inline constexpr std::size_t kPublicKeySize = 32;
inline constexpr std::size_t kSignatureSize = 64;
inline constexpr std::size_t kMaxReasonBytes = 1024;
inline constexpr std::size_t kMaxStatNameBytes = 64;
// Raw bytes after a CHUNK header: at most one chunk.
inline constexpr std::uint32_t kMaxChunkData = kMaxChunkSize;
// The index REJECT uses for a whole file (an OPEN that failed).
inline constexpr std::uint32_t kWholeFile = 0xFFFFFFFF;

enum class MessageType : std::uint8_t {
  kHello = 1,
  kError = 2,
  kAuth = 3,
  // peer <-> coordinator
  kReport = 16,
  kQuery = 17,
  kHolders = 18,
  kStatsRequest = 19,
  kStats = 20,
  // peer <-> peer
  kOpen = 32,
  kBitfield = 33,
  kHave = 34,
  kRequest = 35,
  kChunk = 36,
  kReject = 37,
  kCancel = 38,
  kGrant = 39,
  kInterest = 40,
};

const char* MessageTypeName(MessageType type);

// The enumerations below travel as numbers that run without gaps from the
// first enumerator to kLast, an alias of the last; the decoder refuses any
// other. A new value goes just before kLast, and kLast is moved to name it.
enum class Role : std::uint8_t {
  kPeer = 1,
  kCoordinator = 2,
  kTool = 3,
  kLast = kTool,
};

using PeerId = lanswarm::PeerId;
using Nonce = std::array<std::uint8_t, kNonceSize>;
using PublicKey = std::array<std::uint8_t, kPublicKeySize>;

struct Hello {
  std::uint16_t min_version = kProtocolVersion;
  std::uint16_t max_version = kProtocolVersion;
  Role role = Role::kPeer;
  PeerId peer_id{};  // the first 16 bytes of BLAKE2b(public_key)
  Nonce nonce{};     // fresh random bytes per connection
  Bytes auth;        // 0..kMaxAuthBytes: the accepting side's cluster-key proof (common/auth/handshake.h)
  PublicKey public_key{};
  Bytes signature;   // empty, or kSignatureSize: the accepting side's proof of its identity
  friend bool operator==(const Hello&, const Hello&) = default;
};

// This build's HELLO for `role` and `id`; common/auth/handshake.h adds the
// nonce and the proof.
inline Hello MakeHello(Role role, const PeerId& id) {
  Hello h;
  h.role = role;
  h.peer_id = id;
  return h;
}

// The connecting side's proof that it holds the cluster key, sent after the
// accepting side's HELLO (common/auth/handshake.h).
struct Auth {
  Bytes signature = Bytes(kSignatureSize);  // kSignatureSize: the connecting side's proof of its identity
  Bytes proof;                              // 0..kMaxAuthBytes: its cluster-key proof, empty in an open cluster
  friend bool operator==(const Auth&, const Auth&) = default;
};

enum class ErrorCode : std::uint16_t {
  kProtocol = 1,      // a malformed or unexpected message
  kVersion = 2,       // no protocol version in common
  kAuth = 3,          // authentication failed
  kLimit = 4,         // a configured limit was exceeded
  kInternal = 5,
  kShuttingDown = 6,
  kLast = kShuttingDown,
};

struct Error {
  ErrorCode code = ErrorCode::kProtocol;
  std::string reason;  // UTF-8, at most kMaxReasonBytes
  friend bool operator==(const Error&, const Error&) = default;
};

// An IP endpoint. family 0 means "unspecified": in a REPORT, the coordinator
// then uses the address it sees the connection come from.
struct Endpoint {
  std::uint8_t family = 0;                 // 0, 4 or 6
  std::array<std::uint8_t, 16> address{};  // IPv4 in the first 4 bytes, the rest zero
  std::uint16_t port = 0;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

enum class FileState : std::uint8_t {
  kGone = 0,
  kPartial = 1,
  kWhole = 2,
  kLast = kWhole,
};

struct ReportEntry {
  FileId file;
  FileState state = FileState::kWhole;
  friend bool operator==(const ReportEntry&, const ReportEntry&) = default;
};

// A peer's whole availability: replaces its previous report.
struct Report {
  Endpoint listen;
  std::vector<ReportEntry> files;
  // The peer's upload capacity as it measured it (peer/upload_capacity): the
  // coordinator makes weak uplinks leaves of the trees. 0: not known yet.
  std::uint64_t upload_bytes_per_second = 0;
  friend bool operator==(const Report&, const Report&) = default;
};

struct Query {
  std::uint32_t request_id = 0;
  FileId file;
  friend bool operator==(const Query&, const Query&) = default;
};

// Holder::flags: the holder is the asker's parent in one of the file's two
// trees (common/swarm_tree): connect to it first, and say so in INTEREST.
inline constexpr std::uint8_t kHolderParent = 1;

struct Holder {
  PeerId peer{};
  Endpoint endpoint;
  FileState state = FileState::kWhole;
  std::uint8_t flags = 0;  // kHolder*; unknown bits are refused
  friend bool operator==(const Holder&, const Holder&) = default;
};

struct Holders {
  std::uint32_t request_id = 0;
  FileId file;
  std::vector<Holder> holders;
  friend bool operator==(const Holders&, const Holders&) = default;
};

struct StatsRequest {
  std::uint32_t request_id = 0;
  friend bool operator==(const StatsRequest&, const StatsRequest&) = default;
};

struct StatEntry {
  std::string name;  // 1..kMaxStatNameBytes of [a-z0-9_]
  std::uint64_t value = 0;
  friend bool operator==(const StatEntry&, const StatEntry&) = default;
};

struct Stats {
  std::uint32_t request_id = 0;
  std::vector<StatEntry> entries;
  friend bool operator==(const Stats&, const Stats&) = default;
};

// Binds `slot`, chosen by the downloading side, to a file for later messages.
struct Open {
  std::uint16_t slot = 0;
  FileId file;
  friend bool operator==(const Open&, const Open&) = default;
};

// Bitfield::flags: this holder sends only what it grants (GRANT): ask it
// for one chunk per grant, and tell it with INTEREST whether you want any.
inline constexpr std::uint8_t kBitfieldGrants = 1;

// Verified chunks: bit i is byte i / 8, mask 1 << (i % 8). Spare bits are 0.
struct Bitfield {
  std::uint16_t slot = 0;
  std::uint32_t chunk_count = 0;
  Bytes bits;  // exactly ceil(chunk_count / 8) bytes
  std::uint8_t flags = 0;  // kBitfield*; unknown bits are refused
  friend bool operator==(const Bitfield&, const Bitfield&) = default;
};

// Holder to getter: you may REQUEST one chunk of the slot's file now.
struct Grant {
  std::uint16_t slot = 0;
  friend bool operator==(const Grant&, const Grant&) = default;
};

// Interest::flags.
inline constexpr std::uint8_t kInterested = 1;  // the getter wants a chunk this holder has
inline constexpr std::uint8_t kPass = 2;        // it gives back its grants (nothing to ask now)
inline constexpr std::uint8_t kParent = 4;      // the holder is its parent in a tree: grant it first

// Getter to holder, about the slot's file; each replaces the last.
struct Interest {
  std::uint16_t slot = 0;
  std::uint8_t flags = 0;  // kInterested | kPass | kParent; unknown bits are refused
  friend bool operator==(const Interest&, const Interest&) = default;
};

struct Have {
  std::uint16_t slot = 0;
  std::uint32_t index = 0;
  friend bool operator==(const Have&, const Have&) = default;
};

struct Request {
  std::uint16_t slot = 0;
  std::uint32_t index = 0;
  friend bool operator==(const Request&, const Request&) = default;
};

// Followed on the wire by `length` raw bytes: the chunk.
struct ChunkHeader {
  std::uint16_t slot = 0;
  std::uint32_t index = 0;
  std::uint32_t length = 0;  // 1..kMaxChunkData
  friend bool operator==(const ChunkHeader&, const ChunkHeader&) = default;
};

enum class RejectReason : std::uint8_t {
  kUnknownFile = 1,  // OPEN of a file this peer does not serve
  kNotOpen = 2,      // a slot that no OPEN bound
  kOutOfRange = 3,   // index >= chunk count
  kMissing = 4,      // the chunk is not verified here (yet)
  kBusy = 5,         // too many requests in flight; ask later or elsewhere
  kChanged = 6,      // the file changed on disk; this peer stopped serving it
  // A whole copy that has sent this chunk already while others have never
  // left it: fetch it from the peer that got it, and ask this one for a chunk
  // nobody has yet. Keeps a seed from spending its upload on duplicates.
  kElsewhere = 7,
  kLast = kElsewhere,
};

struct Reject {
  std::uint16_t slot = 0;
  std::uint32_t index = 0;  // kWholeFile for a failed OPEN
  RejectReason reason = RejectReason::kMissing;
  friend bool operator==(const Reject&, const Reject&) = default;
};

struct Cancel {
  std::uint16_t slot = 0;
  std::uint32_t index = 0;
  friend bool operator==(const Cancel&, const Cancel&) = default;
};

using Message = std::variant<Hello, Error, Auth, Report, Query, Holders, StatsRequest, Stats, Open, Bitfield,
                             Have, Request, ChunkHeader, Reject, Cancel, Grant, Interest>;

MessageType TypeOf(const Message& m);

}  // namespace lanswarm::proto
