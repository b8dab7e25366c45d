// Writes the seed corpora of the frame fuzzers, so each starts from valid
// messages rather than from nothing:
//   write_seeds DIR
// DIR/msg_<type>/  the payload of each sample of that type (message_fuzz.cc)
// DIR/decoder/     each sample as a whole frame, and one stream of them all
//                  with a CHUNK's data in place (decoder_fuzz.cc)
// <type> is MessageTypeName in lower case, the names FUZZ_MESSAGES lists.
// A type without a sample here is still fuzzed, from an empty corpus.
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/proto/codec.h"

using namespace lanswarm;
using namespace lanswarm::proto;

namespace {

FileId Id(std::uint8_t seed) {
  FileId id;
  for (std::size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<std::uint8_t>(seed + i);
  return id;
}

Endpoint V4(std::uint16_t port) {
  Endpoint e;
  e.family = 4;
  e.address[0] = 10;
  e.address[3] = 7;
  e.port = port;
  return e;
}

Endpoint V6(std::uint16_t port) {
  Endpoint e;
  e.family = 6;
  e.address.fill(0xFE);
  e.port = port;
  return e;
}

// Valid messages, each field away from its default where it has one.
std::vector<Message> Samples() {
  Hello hello;
  hello.max_version = 3;
  hello.role = Role::kTool;
  hello.peer_id.fill(0xAB);
  Hello keyed = hello;
  keyed.nonce.fill(0x5A);
  keyed.auth = Bytes(32, 0x77);
  keyed.public_key.fill(0x3C);
  keyed.signature = Bytes(kSignatureSize, 0x66);
  return {
      Hello{},
      hello,
      keyed,
      Error{ErrorCode::kProtocol, ""},
      Error{ErrorCode::kLimit, "too many connections from 10.0.0.9"},
      Error{ErrorCode::kShuttingDown, std::string(kMaxReasonBytes, 'x')},
      Auth{Bytes(kSignatureSize, 0x41), Bytes(32, 0x42)},
      Auth{Bytes(kSignatureSize, 0x43), {}},
      Report{Endpoint{}, {}},
      Report{V4(6882), {{Id(1), FileState::kWhole}, {Id(2), FileState::kPartial}, {Id(3), FileState::kGone}}},
      Report{V6(1), {{Id(4), FileState::kWhole}}, 125000000},
      Query{42, Id(9)},
      Holders{7, Id(3), {}},
      Holders{7, Id(3), {{PeerId{1}, V4(6882), FileState::kWhole}, {PeerId{2}, V6(6883), FileState::kPartial}}},
      StatsRequest{5},
      Stats{5, {}},
      Stats{5, {{"peers", 10000}, {"entries", 1000000}, {"rss_bytes", 123456789}}},
      Open{3, Id(4)},
      Bitfield{0, 0, {}},
      Bitfield{3, 11, {0xFF, 0x05}},
      Bitfield{3, 16, {0x0F, 0xF0}},
      Have{3, 1048575},
      Request{3, 17},
      ChunkHeader{3, 17, 4},
      ChunkHeader{3, 17, kMaxChunkData},
      Reject{3, kWholeFile, RejectReason::kUnknownFile},
      Reject{3, 9, RejectReason::kElsewhere},
      Cancel{3, 17},
  };
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void Write(const std::filesystem::path& path, ByteView bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) {
    std::fprintf(stderr, "write_seeds: cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_seeds DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  Bytes stream;
  int n = 0;
  for (const Message& m : Samples()) {
    const Bytes frame = EncodeFrame(m);
    const std::string name = Lower(MessageTypeName(TypeOf(m)));
    const std::string file = name + "-" + std::to_string(n++);
    Write(dir / ("msg_" + name) / file, ByteView(frame).subspan(kFrameHeaderSize));
    Write(dir / "decoder" / file, frame);
    // The stream keeps frames small and gives a CHUNK its data.
    if (const auto* chunk = std::get_if<ChunkHeader>(&m)) {
      if (chunk->length > 64) continue;
      PutBytes(&stream, frame);
      PutBytes(&stream, Bytes(chunk->length, 0xDA));
    } else if (frame.size() <= 256) {
      PutBytes(&stream, frame);
    }
  }
  Write(dir / "decoder" / "stream", stream);
  return 0;
}
