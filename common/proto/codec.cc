#include "common/proto/codec.h"

#include <algorithm>
#include <cassert>

#include <fmt/format.h>

namespace lanswarm::proto {

namespace {

constexpr std::size_t kHolderSize = 16 + kEndpointBytes + 2;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// ---- encoding ----

void PutFileId(Bytes* out, const FileId& id) { PutBytes(out, ByteView(id.bytes)); }

void PutEndpoint(Bytes* out, const Endpoint& e) {
  PutU8(out, e.family);
  PutBytes(out, ByteView(e.address));
  PutU16(out, e.port);
}

void EncodePayload(const Hello& m, Bytes* out) {
  assert(m.auth.size() <= kMaxAuthBytes);
  PutU32(out, kMagic);
  PutU16(out, m.min_version);
  PutU16(out, m.max_version);
  PutU8(out, static_cast<std::uint8_t>(m.role));
  PutBytes(out, ByteView(m.peer_id));
  PutBytes(out, ByteView(m.nonce));
  PutU8(out, static_cast<std::uint8_t>(m.auth.size()));
  PutBytes(out, m.auth);
  assert(m.signature.empty() || m.signature.size() == kSignatureSize);
  PutBytes(out, ByteView(m.public_key));
  PutU8(out, static_cast<std::uint8_t>(m.signature.size()));
  PutBytes(out, m.signature);
}
void EncodePayload(const Error& m, Bytes* out) {
  const std::size_t n = std::min(m.reason.size(), kMaxReasonBytes);
  PutU16(out, static_cast<std::uint16_t>(m.code));
  PutU16(out, static_cast<std::uint16_t>(n));
  PutBytes(out, AsBytes(std::string_view(m.reason).substr(0, n)));
}
void EncodePayload(const Auth& m, Bytes* out) {
  assert(m.signature.size() == kSignatureSize && m.proof.size() <= kMaxAuthBytes);
  PutBytes(out, m.signature);
  PutU8(out, static_cast<std::uint8_t>(m.proof.size()));
  PutBytes(out, m.proof);
}
void EncodePayload(const Report& m, Bytes* out) {
  [[maybe_unused]] const std::size_t start = out->size();
  PutEndpoint(out, m.listen);
  PutU64(out, m.upload_bytes_per_second);
  PutU32(out, static_cast<std::uint32_t>(m.files.size()));
  for (const auto& f : m.files) {
    PutFileId(out, f.file);
    PutU8(out, static_cast<std::uint8_t>(f.state));
  }
  assert(out->size() - start == ReportPayloadBytes(m.files.size()));
}
void EncodePayload(const Query& m, Bytes* out) {
  PutU32(out, m.request_id);
  PutFileId(out, m.file);
}
void EncodePayload(const Holders& m, Bytes* out) {
  PutU32(out, m.request_id);
  PutFileId(out, m.file);
  PutU32(out, static_cast<std::uint32_t>(m.holders.size()));
  for (const auto& h : m.holders) {
    PutBytes(out, ByteView(h.peer));
    PutEndpoint(out, h.endpoint);
    PutU8(out, static_cast<std::uint8_t>(h.state));
    PutU8(out, h.flags);
  }
}
void EncodePayload(const StatsRequest& m, Bytes* out) { PutU32(out, m.request_id); }
void EncodePayload(const Stats& m, Bytes* out) {
  PutU32(out, m.request_id);
  PutU16(out, static_cast<std::uint16_t>(m.entries.size()));
  for (const auto& e : m.entries) {
    PutU8(out, static_cast<std::uint8_t>(e.name.size()));
    PutBytes(out, AsBytes(e.name));
    PutU64(out, e.value);
  }
}
void EncodePayload(const Open& m, Bytes* out) {
  PutU16(out, m.slot);
  PutFileId(out, m.file);
}
void EncodePayload(const Bitfield& m, Bytes* out) {
  PutU16(out, m.slot);
  PutU32(out, m.chunk_count);
  PutBytes(out, m.bits);
  PutU8(out, m.flags);
}
void EncodePayload(const Grant& m, Bytes* out) { PutU16(out, m.slot); }
void EncodePayload(const Interest& m, Bytes* out) {
  PutU16(out, m.slot);
  PutU8(out, m.flags);
}
void EncodeSlotIndex(std::uint16_t slot, std::uint32_t index, Bytes* out) {
  PutU16(out, slot);
  PutU32(out, index);
}
void EncodePayload(const Have& m, Bytes* out) { EncodeSlotIndex(m.slot, m.index, out); }
void EncodePayload(const Request& m, Bytes* out) { EncodeSlotIndex(m.slot, m.index, out); }
void EncodePayload(const Cancel& m, Bytes* out) { EncodeSlotIndex(m.slot, m.index, out); }
void EncodePayload(const ChunkHeader& m, Bytes* out) {
  EncodeSlotIndex(m.slot, m.index, out);
  PutU32(out, m.length);
}
void EncodePayload(const Reject& m, Bytes* out) {
  EncodeSlotIndex(m.slot, m.index, out);
  PutU8(out, static_cast<std::uint8_t>(m.reason));
}

// ---- decoding ----
//
// Each Decode* reads the whole payload from r and returns an empty string on
// success or the reason it is malformed. DecodeFrame checks that nothing
// trails.

using Why = std::string;

Why Truncated(const char* what) { return fmt::format("truncated {} payload", what); }

Why ReadFileId(ByteReader& r, FileId* id) {
  ByteView v;
  if (!r.ReadView(FileId::kSize, &v)) return "truncated file id";
  std::copy(v.begin(), v.end(), id->bytes.begin());
  return {};
}

Why ReadPeerId(ByteReader& r, PeerId* id) {
  ByteView v;
  if (!r.ReadView(id->size(), &v)) return "truncated peer id";
  std::copy(v.begin(), v.end(), id->begin());
  return {};
}

Why ReadEndpoint(ByteReader& r, Endpoint* e) {
  ByteView addr;
  if (!r.ReadU8(&e->family) || !r.ReadView(16, &addr) || !r.ReadU16(&e->port)) return "truncated endpoint";
  std::copy(addr.begin(), addr.end(), e->address.begin());
  std::size_t used;
  switch (e->family) {
    case 0: used = 0; break;
    case 4: used = 4; break;
    case 6: used = 16; break;
    default: return fmt::format("endpoint family {} is not 0, 4 or 6", e->family);
  }
  for (std::size_t i = used; i < 16; ++i) {
    if (e->address[i] != 0) return "endpoint address has non-zero padding";
  }
  return {};
}

// True when `v` is a value of E, which runs from `first` to E::kLast
// (messages.h); the bounds come from the enumeration, never a literal.
template <typename E>
bool IsKnown(std::uint64_t v, E first) {
  return v >= static_cast<std::uint64_t>(first) && v <= static_cast<std::uint64_t>(E::kLast);
}

Why ReadState(ByteReader& r, FileState* s) {
  std::uint8_t v;
  if (!r.ReadU8(&v)) return "truncated file state";
  if (!IsKnown(v, FileState::kGone)) {
    return fmt::format("file state {} is not {}..{}", v, static_cast<int>(FileState::kGone),
                       static_cast<int>(FileState::kLast));
  }
  *s = static_cast<FileState>(v);
  return {};
}

// Checks that `count` entries of `size` bytes fit in what remains, without
// overflowing, before the caller reserves anything.
Why CheckCount(const ByteReader& r, std::uint64_t count, std::size_t size, const char* what) {
  if (count > r.remaining() / size) {
    return fmt::format("{} count {} x {} bytes exceeds the {} bytes left in the frame", what, count, size,
                       r.remaining());
  }
  return {};
}

#define LANSWARM_TRY(expr)        \
  do {                            \
    Why why_ = (expr);            \
    if (!why_.empty()) return why_; \
  } while (0)

Why Decode(ByteReader& r, Hello* m) {
  std::uint32_t magic;
  std::uint8_t role, auth_len;
  if (!r.ReadU32(&magic)) return Truncated("HELLO");
  if (magic != kMagic) return fmt::format("HELLO magic 0x{:08x} is not lanswarm's", magic);
  if (!r.ReadU16(&m->min_version) || !r.ReadU16(&m->max_version) || !r.ReadU8(&role)) return Truncated("HELLO");
  if (m->min_version == 0 || m->min_version > m->max_version) {
    return fmt::format("HELLO version range [{}, {}] is empty", m->min_version, m->max_version);
  }
  if (!IsKnown(role, Role::kPeer)) return fmt::format("HELLO role {} is unknown", role);
  m->role = static_cast<Role>(role);
  LANSWARM_TRY(ReadPeerId(r, &m->peer_id));
  ByteView v;
  if (!r.ReadView(kNonceSize, &v)) return Truncated("HELLO");
  std::copy(v.begin(), v.end(), m->nonce.begin());
  if (!r.ReadU8(&auth_len)) return Truncated("HELLO");
  if (auth_len > kMaxAuthBytes) return fmt::format("HELLO auth of {} bytes exceeds {}", auth_len, kMaxAuthBytes);
  if (!r.ReadView(auth_len, &v)) return Truncated("HELLO");
  m->auth.assign(v.begin(), v.end());
  std::uint8_t sig_len;
  if (!r.ReadView(kPublicKeySize, &v)) return Truncated("HELLO");
  std::copy(v.begin(), v.end(), m->public_key.begin());
  if (!r.ReadU8(&sig_len)) return Truncated("HELLO");
  if (sig_len != 0 && sig_len != kSignatureSize) {
    return fmt::format("HELLO signature of {} bytes is not 0 or {}", sig_len, kSignatureSize);
  }
  if (!r.ReadView(sig_len, &v)) return Truncated("HELLO");
  m->signature.assign(v.begin(), v.end());
  return {};
}

Why Decode(ByteReader& r, Auth* m) {
  std::uint8_t len;
  ByteView v;
  if (!r.ReadView(kSignatureSize, &v)) return Truncated("AUTH");
  m->signature.assign(v.begin(), v.end());
  if (!r.ReadU8(&len)) return Truncated("AUTH");
  if (len > kMaxAuthBytes) return fmt::format("AUTH proof of {} bytes exceeds {}", len, kMaxAuthBytes);
  if (!r.ReadView(len, &v)) return Truncated("AUTH");
  m->proof.assign(v.begin(), v.end());
  return {};
}

Why Decode(ByteReader& r, Error* m) {
  std::uint16_t code, len;
  if (!r.ReadU16(&code) || !r.ReadU16(&len)) return Truncated("ERROR");
  if (!IsKnown(code, ErrorCode::kProtocol)) return fmt::format("ERROR code {} is unknown", code);
  if (len > kMaxReasonBytes) return fmt::format("ERROR reason of {} bytes exceeds {}", len, kMaxReasonBytes);
  ByteView v;
  if (!r.ReadView(len, &v)) return Truncated("ERROR");
  m->code = static_cast<ErrorCode>(code);
  m->reason.assign(v.begin(), v.end());
  return {};
}

Why Decode(ByteReader& r, Report* m) {
  LANSWARM_TRY(ReadEndpoint(r, &m->listen));
  if (!r.ReadU64(&m->upload_bytes_per_second)) return Truncated("REPORT");
  std::uint32_t count;
  if (!r.ReadU32(&count)) return Truncated("REPORT");
  LANSWARM_TRY(CheckCount(r, count, kReportEntryBytes, "REPORT file"));
  m->files.resize(count);
  for (auto& f : m->files) {
    LANSWARM_TRY(ReadFileId(r, &f.file));
    LANSWARM_TRY(ReadState(r, &f.state));
  }
  return {};
}

Why Decode(ByteReader& r, Query* m) {
  if (!r.ReadU32(&m->request_id)) return Truncated("QUERY");
  return ReadFileId(r, &m->file);
}

Why Decode(ByteReader& r, Holders* m) {
  std::uint32_t count;
  if (!r.ReadU32(&m->request_id)) return Truncated("HOLDERS");
  LANSWARM_TRY(ReadFileId(r, &m->file));
  if (!r.ReadU32(&count)) return Truncated("HOLDERS");
  LANSWARM_TRY(CheckCount(r, count, kHolderSize, "HOLDERS holder"));
  m->holders.resize(count);
  for (auto& h : m->holders) {
    LANSWARM_TRY(ReadPeerId(r, &h.peer));
    LANSWARM_TRY(ReadEndpoint(r, &h.endpoint));
    if (h.endpoint.family == 0) return "HOLDERS holder without an address";
    LANSWARM_TRY(ReadState(r, &h.state));
    if (!r.ReadU8(&h.flags)) return Truncated("HOLDERS");
    if ((h.flags & ~kHolderParent) != 0) return fmt::format("HOLDERS holder flags {:#x} are unknown", h.flags);
  }
  return {};
}

Why Decode(ByteReader& r, StatsRequest* m) {
  return r.ReadU32(&m->request_id) ? Why() : Truncated("STATS_REQUEST");
}

Why Decode(ByteReader& r, Stats* m) {
  std::uint16_t count;
  if (!r.ReadU32(&m->request_id) || !r.ReadU16(&count)) return Truncated("STATS");
  // The smallest entry on the wire is a 1-byte length and a u64 (an empty
  // name is rejected below, with its own reason).
  LANSWARM_TRY(CheckCount(r, count, 1 + 8, "STATS entry"));
  m->entries.resize(count);
  for (auto& e : m->entries) {
    std::uint8_t len;
    ByteView name;
    if (!r.ReadU8(&len) || !r.ReadView(len, &name) || !r.ReadU64(&e.value)) return Truncated("STATS");
    if (len == 0 || len > kMaxStatNameBytes) return fmt::format("STATS name of {} bytes", len);
    for (std::uint8_t c : name) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
        return "STATS name has a character outside [a-z0-9_]";
      }
    }
    e.name.assign(name.begin(), name.end());
  }
  return {};
}

Why Decode(ByteReader& r, Open* m) {
  if (!r.ReadU16(&m->slot)) return Truncated("OPEN");
  return ReadFileId(r, &m->file);
}

Why Decode(ByteReader& r, Bitfield* m) {
  if (!r.ReadU16(&m->slot) || !r.ReadU32(&m->chunk_count)) return Truncated("BITFIELD");
  if (m->chunk_count > kMaxChunkCount) {
    return fmt::format("BITFIELD of {} chunks exceeds the {} chunk limit", m->chunk_count, kMaxChunkCount);
  }
  const std::size_t bytes = (m->chunk_count + 7) / 8;
  ByteView v;
  if (!r.ReadView(bytes, &v)) return Truncated("BITFIELD");
  if (m->chunk_count % 8 != 0 && (v.back() >> (m->chunk_count % 8)) != 0) {
    return "BITFIELD has bits set past its chunk count";
  }
  m->bits.assign(v.begin(), v.end());
  if (!r.ReadU8(&m->flags)) return Truncated("BITFIELD");
  if ((m->flags & ~kBitfieldGrants) != 0) return fmt::format("BITFIELD flags {:#x} are unknown", m->flags);
  return {};
}

Why Decode(ByteReader& r, Grant* m) { return r.ReadU16(&m->slot) ? Why() : Truncated("GRANT"); }

Why Decode(ByteReader& r, Interest* m) {
  if (!r.ReadU16(&m->slot) || !r.ReadU8(&m->flags)) return Truncated("INTEREST");
  if ((m->flags & ~(kInterested | kPass | kParent)) != 0) {
    return fmt::format("INTEREST flags {:#x} are unknown", m->flags);
  }
  return {};
}

Why DecodeSlotIndex(ByteReader& r, std::uint16_t* slot, std::uint32_t* index, const char* what) {
  return r.ReadU16(slot) && r.ReadU32(index) ? Why() : Truncated(what);
}

Why Decode(ByteReader& r, Have* m) { return DecodeSlotIndex(r, &m->slot, &m->index, "HAVE"); }
Why Decode(ByteReader& r, Request* m) { return DecodeSlotIndex(r, &m->slot, &m->index, "REQUEST"); }
Why Decode(ByteReader& r, Cancel* m) { return DecodeSlotIndex(r, &m->slot, &m->index, "CANCEL"); }

Why Decode(ByteReader& r, ChunkHeader* m) {
  LANSWARM_TRY(DecodeSlotIndex(r, &m->slot, &m->index, "CHUNK"));
  if (!r.ReadU32(&m->length)) return Truncated("CHUNK");
  if (m->length == 0 || m->length > kMaxChunkData) {
    return fmt::format("CHUNK length {} is outside 1..{}", m->length, kMaxChunkData);
  }
  return {};
}

Why Decode(ByteReader& r, Reject* m) {
  std::uint8_t reason;
  LANSWARM_TRY(DecodeSlotIndex(r, &m->slot, &m->index, "REJECT"));
  if (!r.ReadU8(&reason)) return Truncated("REJECT");
  if (!IsKnown(reason, RejectReason::kUnknownFile)) return fmt::format("REJECT reason {} is unknown", reason);
  m->reason = static_cast<RejectReason>(reason);
  return {};
}

#undef LANSWARM_TRY

template <typename T>
Why DecodeInto(ByteReader& r, Message* out) {
  T m;
  Why why = Decode(r, &m);
  if (why.empty()) *out = std::move(m);
  return why;
}

}  // namespace

const char* MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kHello: return "HELLO";
    case MessageType::kError: return "ERROR";
    case MessageType::kAuth: return "AUTH";
    case MessageType::kReport: return "REPORT";
    case MessageType::kQuery: return "QUERY";
    case MessageType::kHolders: return "HOLDERS";
    case MessageType::kStatsRequest: return "STATS_REQUEST";
    case MessageType::kStats: return "STATS";
    case MessageType::kOpen: return "OPEN";
    case MessageType::kBitfield: return "BITFIELD";
    case MessageType::kHave: return "HAVE";
    case MessageType::kRequest: return "REQUEST";
    case MessageType::kChunk: return "CHUNK";
    case MessageType::kReject: return "REJECT";
    case MessageType::kCancel: return "CANCEL";
    case MessageType::kGrant: return "GRANT";
    case MessageType::kInterest: return "INTEREST";
  }
  return "UNKNOWN";
}

MessageType TypeOf(const Message& m) {
  return std::visit(Overloaded{
                        [](const Hello&) { return MessageType::kHello; },
                        [](const Error&) { return MessageType::kError; },
                        [](const Auth&) { return MessageType::kAuth; },
                        [](const Report&) { return MessageType::kReport; },
                        [](const Query&) { return MessageType::kQuery; },
                        [](const Holders&) { return MessageType::kHolders; },
                        [](const StatsRequest&) { return MessageType::kStatsRequest; },
                        [](const Stats&) { return MessageType::kStats; },
                        [](const Open&) { return MessageType::kOpen; },
                        [](const Bitfield&) { return MessageType::kBitfield; },
                        [](const Have&) { return MessageType::kHave; },
                        [](const Request&) { return MessageType::kRequest; },
                        [](const ChunkHeader&) { return MessageType::kChunk; },
                        [](const Reject&) { return MessageType::kReject; },
                        [](const Cancel&) { return MessageType::kCancel; },
                        [](const Grant&) { return MessageType::kGrant; },
                        [](const Interest&) { return MessageType::kInterest; },
                    },
                    m);
}

void EncodeFrame(const Message& m, Bytes* out) {
  const std::size_t start = out->size();
  PutU32(out, 0);  // length, patched below
  PutU8(out, static_cast<std::uint8_t>(TypeOf(m)));
  std::visit([out](const auto& msg) { EncodePayload(msg, out); }, m);
  const std::size_t payload = out->size() - start - kFrameHeaderSize;
  assert(payload <= kMaxFramePayload);
  StoreLE<std::uint32_t>(out->data() + start, static_cast<std::uint32_t>(payload));
}

Bytes EncodeFrame(const Message& m) {
  Bytes out;
  EncodeFrame(m, &out);
  return out;
}

Decoded DecodeFrame(ByteView in, std::uint32_t max_payload, Message* out) {
  Decoded d;
  max_payload = std::min(max_payload, kMaxFramePayload);
  if (in.size() < kFrameHeaderSize) return d;  // need more
  const std::uint32_t length = LoadLE<std::uint32_t>(in.data());
  const std::uint8_t type = in[4];
  if (length > max_payload) {
    d.state = DecodeState::kError;
    d.error = fmt::format("frame length {} exceeds the maximum {}", length, max_payload);
    return d;
  }
  using Decoder = Why (*)(ByteReader&, Message*);
  Decoder decode = nullptr;
  switch (static_cast<MessageType>(type)) {
    case MessageType::kHello: decode = DecodeInto<Hello>; break;
    case MessageType::kError: decode = DecodeInto<Error>; break;
    case MessageType::kAuth: decode = DecodeInto<Auth>; break;
    case MessageType::kReport: decode = DecodeInto<Report>; break;
    case MessageType::kQuery: decode = DecodeInto<Query>; break;
    case MessageType::kHolders: decode = DecodeInto<Holders>; break;
    case MessageType::kStatsRequest: decode = DecodeInto<StatsRequest>; break;
    case MessageType::kStats: decode = DecodeInto<Stats>; break;
    case MessageType::kOpen: decode = DecodeInto<Open>; break;
    case MessageType::kBitfield: decode = DecodeInto<Bitfield>; break;
    case MessageType::kHave: decode = DecodeInto<Have>; break;
    case MessageType::kRequest: decode = DecodeInto<Request>; break;
    case MessageType::kChunk: decode = DecodeInto<ChunkHeader>; break;
    case MessageType::kReject: decode = DecodeInto<Reject>; break;
    case MessageType::kCancel: decode = DecodeInto<Cancel>; break;
    case MessageType::kGrant: decode = DecodeInto<Grant>; break;
    case MessageType::kInterest: decode = DecodeInto<Interest>; break;
  }
  if (decode == nullptr) {
    d.state = DecodeState::kError;
    d.error = fmt::format("unknown frame type {}", type);
    return d;
  }
  if (in.size() - kFrameHeaderSize < length) return d;  // need more
  ByteReader r(in.subspan(kFrameHeaderSize, length));
  Why why = decode(r, out);
  if (why.empty() && !r.empty()) {
    why = fmt::format("{} trailing bytes after {}", r.remaining(), MessageTypeName(static_cast<MessageType>(type)));
  }
  if (!why.empty()) {
    d.state = DecodeState::kError;
    d.error = std::move(why);
    return d;
  }
  d.state = DecodeState::kComplete;
  d.frame_size = kFrameHeaderSize + length;
  return d;
}

Result<std::uint16_t> NegotiateVersion(const Hello& mine, const Hello& theirs) {
  const std::uint16_t lo = std::max(mine.min_version, theirs.min_version);
  const std::uint16_t hi = std::min(mine.max_version, theirs.max_version);
  if (lo > hi) {
    return Status::Unsupported(fmt::format("no protocol version in common: we speak {}..{}, the other side {}..{}",
                                           mine.min_version, mine.max_version, theirs.min_version,
                                           theirs.max_version));
  }
  return hi;
}

}  // namespace lanswarm::proto
