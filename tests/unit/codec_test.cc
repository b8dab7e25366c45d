// Wire codec: every message round-trips byte-exactly; every malformed input
// has its own named test and a one-line reason.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "common/proto/codec.h"
#include "common/proto/frame_buffer.h"

namespace lanswarm::proto {

namespace {

FileId Id(std::uint8_t seed) {
  FileId id;
  for (std::size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<std::uint8_t>(seed + i);
  return id;
}

Endpoint V4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port) {
  Endpoint e;
  e.family = 4;
  e.address[0] = a;
  e.address[1] = b;
  e.address[2] = c;
  e.address[3] = d;
  e.port = port;
  return e;
}

// One of every message, with non-default field values.
std::vector<Message> Samples() {
  Hello hello;
  hello.min_version = 1;
  hello.max_version = 3;
  hello.role = Role::kCoordinator;
  hello.peer_id.fill(0xAB);
  hello.nonce.fill(0x5A);
  hello.auth = Bytes(32, 0x77);
  hello.public_key.fill(0x3C);
  hello.signature = Bytes(kSignatureSize, 0x66);
  Hello open_connector = hello;  // a connector's: no proofs
  open_connector.auth.clear();
  open_connector.signature.clear();
  Endpoint v6;
  v6.family = 6;
  v6.address.fill(0xFE);
  v6.port = 6882;
  Holders holders{7, Id(3),
                  {{PeerId{1}, V4(10, 0, 0, 2, 6882), FileState::kWhole},
                   {PeerId{2}, v6, FileState::kPartial, kHolderParent}}};
  return {
      hello,
      open_connector,
      Error{ErrorCode::kLimit, "too many connections from 10.0.0.9"},
      Auth{Bytes(kSignatureSize, 0x41), Bytes(32, 0x42)},
      Auth{Bytes(kSignatureSize, 0x43), {}},  // open cluster: the identity signature only
      Report{V4(10, 0, 0, 1, 6882), {{Id(1), FileState::kWhole}, {Id(2), FileState::kPartial}, {Id(3), FileState::kGone}}},
      Report{Endpoint{0, {}, 6882}, {}, 12500000},
      Query{42, Id(9)},
      holders,
      StatsRequest{5},
      Stats{5, {{"peers", 10000}, {"entries", 1000000}, {"rss_bytes", 123456789}}},
      Open{3, Id(4)},
      Bitfield{3, 11, {0xFF, 0x05}},
      Bitfield{0, 0, {}, kBitfieldGrants},
      Have{3, 1048575},
      Request{3, 17},
      ChunkHeader{3, 17, 16u << 20},
      Reject{3, kWholeFile, RejectReason::kUnknownFile},
      Reject{3, 9, RejectReason::kElsewhere},
      Cancel{3, 17},
      Grant{3},
      Interest{3, kInterested | kParent},
      Interest{3, kPass},
  };
}

Decoded DecodeAll(const Bytes& frame, Message* out) { return DecodeFrame(frame, kMaxFramePayload, out); }

// A frame with the given type and raw payload.
Bytes RawFrame(std::uint8_t type, const Bytes& payload) {
  Bytes f;
  PutU32(&f, static_cast<std::uint32_t>(payload.size()));
  PutU8(&f, type);
  PutBytes(&f, payload);
  return f;
}

std::string ErrorOf(const Bytes& frame) {
  Message m;
  Decoded d = DecodeAll(frame, &m);
  REQUIRE(d.state == DecodeState::kError);
  CHECK(d.error.find('\n') == std::string::npos);
  return d.error;
}

bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("codec: every message round-trips, re-encoding to the same bytes", "[codec]") {
  for (const Message& m : Samples()) {
    INFO(MessageTypeName(TypeOf(m)));
    const Bytes frame = EncodeFrame(m);
    Message decoded;
    Decoded d = DecodeAll(frame, &decoded);
    REQUIRE(d.state == DecodeState::kComplete);
    CHECK(d.frame_size == frame.size());
    CHECK(decoded == m);
    CHECK(EncodeFrame(decoded) == frame);
  }
}

TEST_CASE("codec: the frame header is length then type, little-endian", "[codec]") {
  const Bytes f = EncodeFrame(Have{0x0102, 0x03040506});
  CHECK(f == Bytes{6, 0, 0, 0, 34, 0x02, 0x01, 0x06, 0x05, 0x04, 0x03});
}

TEST_CASE("codec: a REPORT of n files is the frame header and ReportPayloadBytes(n)", "[codec]") {
  for (std::uint32_t n : {0u, 1u, 2u, 1000u}) {
    INFO(n);
    Report report{V4(10, 0, 0, 1, 6882), std::vector<ReportEntry>(n, {Id(1), FileState::kPartial})};
    CHECK(EncodeFrame(report).size() == kFrameHeaderSize + ReportPayloadBytes(n));
  }
  CHECK(ReportPayloadBytes(0) == kReportHeaderBytes);
  CHECK(ReportPayloadBytes(3) - ReportPayloadBytes(2) == kReportEntryBytes);
}

TEST_CASE("codec: a CHUNK frame holds only the header; its data follows", "[codec]") {
  Bytes stream = EncodeFrame(ChunkHeader{1, 2, 4});
  const std::size_t header = stream.size();
  PutBytes(&stream, AsBytes("DATA"));
  PutBytes(&stream, EncodeFrame(Have{1, 2}));
  FrameBuffer fb;
  fb.Append(stream);
  Message m;
  REQUIRE(fb.Next(&m).state == DecodeState::kComplete);
  CHECK(std::get<ChunkHeader>(m).length == 4);
  CHECK(fb.size() == stream.size() - header);
  std::uint8_t data[4];
  CHECK(fb.TakeRaw(data, 4) == 4);
  CHECK(std::string(data, data + 4) == "DATA");
  REQUIRE(fb.Next(&m).state == DecodeState::kComplete);
  CHECK(std::get<Have>(m) == Have{1, 2});
  CHECK(fb.CheckCleanEnd().ok());
}

TEST_CASE("frame buffer: messages fed one byte at a time come out whole and in order", "[codec]") {
  Bytes stream;
  const auto samples = Samples();
  for (const Message& m : samples) {
    if (TypeOf(m) != MessageType::kChunk) EncodeFrame(m, &stream);
  }
  FrameBuffer fb;
  std::vector<Message> got;
  for (std::uint8_t b : stream) {
    fb.Append(ByteView(&b, 1));
    Message m;
    for (Decoded d = fb.Next(&m); d.state == DecodeState::kComplete; d = fb.Next(&m)) got.push_back(m);
  }
  std::vector<Message> want;
  for (const Message& m : samples) {
    if (TypeOf(m) != MessageType::kChunk) want.push_back(m);
  }
  CHECK(got == want);
  CHECK(fb.size() == 0);
}

TEST_CASE("malformed: short header needs more bytes, and is an error at end of stream", "[codec][malformed]") {
  const Bytes f = EncodeFrame(Request{1, 2});
  Message m;
  for (std::size_t n = 0; n < kFrameHeaderSize; ++n) {
    CHECK(DecodeFrame(ByteView(f).first(n), kMaxFramePayload, &m).state == DecodeState::kNeedMore);
  }
  FrameBuffer fb;
  fb.Append(ByteView(f).first(3));
  CHECK(fb.Next(&m).state == DecodeState::kNeedMore);
  CHECK(Has(fb.CheckCleanEnd().message(), "inside a frame header (3 of 5 bytes)"));
}

TEST_CASE("malformed: length over the maximum is refused from the header alone", "[codec][malformed]") {
  Bytes header;
  PutU32(&header, kMaxFramePayload + 1);
  PutU8(&header, static_cast<std::uint8_t>(MessageType::kReport));
  CHECK(Has(ErrorOf(header), "frame length 4194305 exceeds the maximum 4194304"));
  // A connection's own lower limit applies the same way.
  Message m;
  Decoded d = DecodeFrame(EncodeFrame(Stats{1, {{"a", 1}}}), 8, &m);
  CHECK(d.state == DecodeState::kError);
  CHECK(Has(d.error, "exceeds the maximum 8"));
}

TEST_CASE("malformed: unknown type", "[codec][malformed]") {
  CHECK(Has(ErrorOf(RawFrame(99, {1, 2, 3})), "unknown frame type 99"));
  CHECK(Has(ErrorOf(RawFrame(0, {})), "unknown frame type 0"));
}

TEST_CASE("malformed: truncated payload", "[codec][malformed]") {
  // Complete frames whose payload is shorter than the message needs.
  CHECK(Has(ErrorOf(RawFrame(34, {1, 0, 2})), "truncated HAVE payload"));
  Bytes hello = EncodeFrame(Hello{});
  hello.resize(hello.size() - 10);
  StoreLE<std::uint32_t>(hello.data(), static_cast<std::uint32_t>(hello.size() - kFrameHeaderSize));
  CHECK(Has(ErrorOf(hello), "truncated HELLO payload"));
  // And a frame cut by the end of the stream.
  FrameBuffer fb;
  const Bytes f = EncodeFrame(Query{1, Id(1)});
  fb.Append(ByteView(f).first(f.size() - 1));
  Message m;
  CHECK(fb.Next(&m).state == DecodeState::kNeedMore);
  CHECK(Has(fb.CheckCleanEnd().message(), "inside a QUERY frame (19 of 20 payload bytes)"));
}

TEST_CASE("malformed: count x size overflow is refused before allocating", "[codec][malformed]") {
  Bytes report;
  PutU8(&report, 0);
  PutBytes(&report, Bytes(16, 0));
  PutU16(&report, 0);
  PutU64(&report, 0);           // upload
  PutU32(&report, 0xFFFFFFFF);  // 4 billion files of 17 bytes in a 31-byte payload
  CHECK(Has(ErrorOf(RawFrame(16, report)), "REPORT file count 4294967295 x 17 bytes exceeds the 0 bytes left"));

  Bytes holders;
  PutU32(&holders, 1);
  PutBytes(&holders, Bytes(16, 0));
  PutU32(&holders, 0x80000000);  // x 37 overflows 32 bits
  PutBytes(&holders, Bytes(37, 0));
  CHECK(Has(ErrorOf(RawFrame(18, holders)), "HOLDERS holder count 2147483648 x 37 bytes"));

  Bytes stats;
  PutU32(&stats, 1);
  PutU16(&stats, 0xFFFF);
  CHECK(Has(ErrorOf(RawFrame(20, stats)), "STATS entry count 65535"));

  Bytes bitfield;
  PutU16(&bitfield, 0);
  PutU32(&bitfield, 0xFFFFFFFF);
  CHECK(Has(ErrorOf(RawFrame(33, bitfield)), "exceeds the 1048576 chunk limit"));
}

TEST_CASE("malformed: trailing bytes", "[codec][malformed]") {
  Bytes payload = {1, 0, 2, 0, 0, 0};  // a valid HAVE
  payload.push_back(0xEE);
  CHECK(Has(ErrorOf(RawFrame(34, payload)), "1 trailing bytes after HAVE"));
  Bytes bf = {0, 0, 8, 0, 0, 0, 0xFF, 0x00, 0x00};  // 8 chunks need 1 byte and the flags, 3 given
  CHECK(Has(ErrorOf(RawFrame(33, bf)), "1 trailing bytes after BITFIELD"));
}

TEST_CASE("malformed: unknown flags in BITFIELD, HOLDERS and INTEREST are refused", "[codec][malformed]") {
  Bytes bf = {0, 0, 8, 0, 0, 0, 0xFF, 0x02};
  CHECK(Has(ErrorOf(RawFrame(33, bf)), "BITFIELD flags 0x2 are unknown"));
  Bytes no_flags = {0, 0, 8, 0, 0, 0, 0xFF};  // a version 2 BITFIELD
  CHECK(Has(ErrorOf(RawFrame(33, no_flags)), "truncated BITFIELD"));
  Holders h{1, FileId{}, {{PeerId{1}, Endpoint{4, {10, 0, 0, 1}, 6882}, FileState::kWhole, 0x80}}};
  CHECK(Has(ErrorOf(EncodeFrame(h)), "HOLDERS holder flags 0x80 are unknown"));
  CHECK(Has(ErrorOf(EncodeFrame(Interest{1, 8})), "INTEREST flags 0x8 are unknown"));
  CHECK(Has(ErrorOf(RawFrame(40, Bytes{1, 0})), "truncated INTEREST"));
  CHECK(Has(ErrorOf(RawFrame(39, Bytes{1})), "truncated GRANT"));
}

TEST_CASE("malformed: HELLO with bad magic, empty version range, unknown role, long auth, bad signature",
          "[codec][malformed]") {
  Bytes f = EncodeFrame(Hello{});
  f[kFrameHeaderSize] ^= 0xFF;
  CHECK(Has(ErrorOf(f), "is not lanswarm's"));

  Hello h;
  h.min_version = 3;
  h.max_version = 2;
  CHECK(Has(ErrorOf(EncodeFrame(h)), "version range [3, 2] is empty"));
  h.min_version = 0;
  h.max_version = 0;
  CHECK(Has(ErrorOf(EncodeFrame(h)), "version range [0, 0] is empty"));

  Bytes role = EncodeFrame(Hello{});
  role[kFrameHeaderSize + 8] = 9;
  CHECK(Has(ErrorOf(role), "HELLO role 9 is unknown"));

  // magic, versions, role, peer id, nonce, then the auth length byte
  constexpr std::size_t kAuthLength = kFrameHeaderSize + 4 + 2 + 2 + 1 + 16 + kNonceSize;
  Bytes auth = EncodeFrame(Hello{});
  REQUIRE(auth[kAuthLength] == 0);
  auth[kAuthLength] = 65;
  auth.insert(auth.begin() + kAuthLength + 1, 65, 0);
  StoreLE<std::uint32_t>(auth.data(), static_cast<std::uint32_t>(auth.size() - kFrameHeaderSize));
  CHECK(Has(ErrorOf(auth), "HELLO auth of 65 bytes exceeds 64"));

  Bytes sig = EncodeFrame(Hello{});
  sig.back() = 5;  // signature length: neither none nor one
  PutBytes(&sig, Bytes(5, 0));
  StoreLE<std::uint32_t>(sig.data(), static_cast<std::uint32_t>(sig.size() - kFrameHeaderSize));
  CHECK(Has(ErrorOf(sig), "HELLO signature of 5 bytes is not 0 or 64"));
  Bytes no_key = EncodeFrame(Hello{});
  no_key.resize(kAuthLength + 1 + 10);  // cut inside the public key
  StoreLE<std::uint32_t>(no_key.data(), static_cast<std::uint32_t>(no_key.size() - kFrameHeaderSize));
  CHECK(Has(ErrorOf(no_key), "truncated HELLO"));
}

TEST_CASE("malformed: bad endpoints", "[codec][malformed]") {
  Bytes f = EncodeFrame(Report{V4(10, 0, 0, 1, 1), {}});
  f[kFrameHeaderSize] = 5;  // family
  CHECK(Has(ErrorOf(f), "endpoint family 5"));
  Bytes pad = EncodeFrame(Report{V4(10, 0, 0, 1, 1), {}});
  pad[kFrameHeaderSize + 1 + 10] = 1;  // inside the IPv4 padding
  CHECK(Has(ErrorOf(pad), "non-zero padding"));
  Holders h{1, Id(1), {{PeerId{}, Endpoint{0, {}, 80}, FileState::kWhole}}};
  CHECK(Has(ErrorOf(EncodeFrame(h)), "holder without an address"));
}

TEST_CASE("malformed: out-of-range enumerations", "[codec][malformed]") {
  Bytes report = EncodeFrame(Report{Endpoint{}, {{Id(1), FileState::kWhole}}});
  report.back() = 3;
  CHECK(Has(ErrorOf(report), "file state 3"));
  Bytes reject = EncodeFrame(Reject{1, 2, RejectReason::kBusy});
  reject.back() = 0;
  CHECK(Has(ErrorOf(reject), "REJECT reason 0 is unknown"));
  reject.back() = 8;
  CHECK(Has(ErrorOf(reject), "REJECT reason 8 is unknown"));
  Bytes error = EncodeFrame(Error{ErrorCode::kAuth, "x"});
  error[kFrameHeaderSize] = 77;
  CHECK(Has(ErrorOf(error), "ERROR code 77 is unknown"));
}

// The bounds the decoder checks are the enumerations' own (kLast in
// messages.h), so a value added there is accepted without touching the codec.
TEST_CASE("malformed: each enumeration's kLast decodes and the number after it is refused", "[codec][malformed]") {
  auto decodes = [](const Message& m) {
    Message out;
    return DecodeAll(EncodeFrame(m), &out).state == DecodeState::kComplete && out == m;
  };
  auto next = [](auto last) { return static_cast<std::uint8_t>(static_cast<int>(last) + 1); };

  Hello hello;
  hello.role = Role::kLast;
  CHECK(decodes(hello));
  Bytes role = EncodeFrame(hello);
  role[kFrameHeaderSize + 8] = next(Role::kLast);
  CHECK(Has(ErrorOf(role), fmt::format("HELLO role {} is unknown", next(Role::kLast))));
  role[kFrameHeaderSize + 8] = static_cast<std::uint8_t>(Role::kPeer) - 1;
  CHECK(Has(ErrorOf(role), "HELLO role 0 is unknown"));

  const Error error{ErrorCode::kLast, "x"};
  CHECK(decodes(error));
  Bytes code = EncodeFrame(error);
  code[kFrameHeaderSize] = next(ErrorCode::kLast);  // the low byte of a u16 below 255
  CHECK(Has(ErrorOf(code), fmt::format("ERROR code {} is unknown", next(ErrorCode::kLast))));
  code[kFrameHeaderSize] = static_cast<std::uint8_t>(ErrorCode::kProtocol) - 1;
  CHECK(Has(ErrorOf(code), "ERROR code 0 is unknown"));

  const Report report{Endpoint{}, {{Id(1), FileState::kLast}}};
  CHECK(decodes(report));
  Bytes state = EncodeFrame(report);
  state.back() = next(FileState::kLast);
  CHECK(Has(ErrorOf(state), fmt::format("file state {} is not 0..{}", next(FileState::kLast),
                                        static_cast<int>(FileState::kLast))));

  const Reject reject{1, 2, RejectReason::kLast};
  CHECK(decodes(reject));
  Bytes reason = EncodeFrame(reject);
  reason.back() = next(RejectReason::kLast);
  CHECK(Has(ErrorOf(reason), fmt::format("REJECT reason {} is unknown", next(RejectReason::kLast))));
}

TEST_CASE("malformed: BITFIELD with bits past its chunk count", "[codec][malformed]") {
  CHECK(Has(ErrorOf(EncodeFrame(Bitfield{0, 11, {0xFF, 0x08}})), "bits set past its chunk count"));
}

TEST_CASE("malformed: CHUNK length zero or over one chunk", "[codec][malformed]") {
  CHECK(Has(ErrorOf(EncodeFrame(ChunkHeader{0, 0, 0})), "CHUNK length 0 is outside"));
  CHECK(Has(ErrorOf(EncodeFrame(ChunkHeader{0, 0, kMaxChunkData + 1})), "CHUNK length 16777217 is outside"));
}

TEST_CASE("malformed: STATS name outside [a-z0-9_]", "[codec][malformed]") {
  CHECK(Has(ErrorOf(EncodeFrame(Stats{1, {{"Bad-Name", 1}}})), "outside [a-z0-9_]"));
  CHECK(Has(ErrorOf(EncodeFrame(Stats{1, {{"", 1}}})), "STATS name of 0 bytes"));
}

TEST_CASE("malformed: ERROR reason longer than the limit", "[codec][malformed]") {
  Bytes payload;
  PutU16(&payload, 1);
  PutU16(&payload, kMaxReasonBytes + 1);
  PutBytes(&payload, Bytes(kMaxReasonBytes + 1, 'x'));
  CHECK(Has(ErrorOf(RawFrame(2, payload)), "reason of 1025 bytes exceeds 1024"));
  // The encoder truncates instead of producing such a frame.
  Message m;
  REQUIRE(DecodeAll(EncodeFrame(Error{ErrorCode::kInternal, std::string(5000, 'y')}), &m).state ==
          DecodeState::kComplete);
  CHECK(std::get<Error>(m).reason.size() == kMaxReasonBytes);
}

TEST_CASE("NegotiateVersion: highest common version, or an error naming both ranges", "[codec]") {
  Hello a, b;
  a.min_version = 1;
  a.max_version = 3;
  b.min_version = 2;
  b.max_version = 5;
  CHECK(*NegotiateVersion(a, b) == 3);
  CHECK(*NegotiateVersion(b, a) == 3);
  b.min_version = 4;
  auto none = NegotiateVersion(a, b);
  CHECK(none.status().code() == Status::Code::kUnsupported);
  CHECK(Has(none.status().message(), "we speak 1..3, the other side 4..5"));
}

TEST_CASE("malformed: AUTH without its signature, or with an over-long proof", "[codec][malformed]") {
  CHECK(ErrorOf(RawFrame(3, Bytes{0})).find("truncated AUTH") != std::string::npos);
  Bytes long_proof(kSignatureSize, 9);
  long_proof.push_back(static_cast<std::uint8_t>(kMaxAuthBytes + 1));
  long_proof.resize(long_proof.size() + kMaxAuthBytes + 1, 1);
  CHECK(ErrorOf(RawFrame(3, long_proof)).find("AUTH proof of 65 bytes exceeds 64") != std::string::npos);
  Bytes short_proof(kSignatureSize, 9);
  PutBytes(&short_proof, Bytes{4, 1, 2});
  CHECK(ErrorOf(RawFrame(3, short_proof)).find("truncated AUTH") != std::string::npos);
  Bytes open(kSignatureSize, 9);
  open.push_back(0);  // no cluster-key proof: an open cluster's AUTH
  Message m;
  REQUIRE(DecodeAll(RawFrame(3, open), &m).state == DecodeState::kComplete);
  CHECK(std::get<Auth>(m).proof.empty());
}

}  // namespace lanswarm::proto
