// The size and parse time of .fileinfo files for large inputs: the numbers
// behind the text-format decision in doc/fileinfo.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "fileinfo/fileinfo.h"

using namespace lanswarm;

namespace {

void Bench(const char* label, std::uint64_t size, std::uint32_t chunk_size,
           DigestAlgorithm digest = DigestAlgorithm::kXxh3) {
  FileInfo info;
  info.name = "big-image.raw";
  info.size = size;
  info.chunk_size = chunk_size;
  std::mt19937_64 rng(42);
  const std::uint64_t count = ChunkCountFor(size, chunk_size);
  info.chunks = ChunkDigestList(digest);
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint8_t bytes[kMaxDigestSize];
    for (std::size_t b = 0; b < DigestSize(digest); b += 8) {
      const std::uint64_t r = rng();
      std::memcpy(bytes + b, &r, 8);
    }
    info.chunks.Append(ChunkDigest(digest, ByteView(bytes, DigestSize(digest))));
  }
  info.id = FileId::FromHash128(rng(), rng());
  const std::string text = SerializeFileInfo(info);
  // What a packed binary encoding would need: the checksums' bytes plus a
  // header of roughly 64 bytes with the name.
  const std::size_t binary = 64 + info.name.size() + info.chunks.packed().size();

  std::vector<double> ms;
  for (int i = 0; i < 15; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto parsed = ParseFileInfo(text, "bench");
    auto t1 = std::chrono::steady_clock::now();
    if (!parsed.ok() || parsed->chunk_count() != info.chunk_count()) {
      std::fprintf(stderr, "parse failed: %s\n", parsed.status().message().c_str());
      std::exit(1);
    }
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%-34s %9u chunks  text %9zu bytes  binary ~%8zu bytes  parse median %7.2f ms  min %7.2f ms\n",
              label, info.chunk_count(), text.size(), binary, ms[ms.size() / 2], ms.front());
}

}  // namespace

int main() {
  Bench("100 GiB, auto chunk size (16 MiB)", 100ull << 30, AutoChunkSize(100ull << 30));
  Bench("4 GiB, auto chunk size (2 MiB)", 4ull << 30, AutoChunkSize(4ull << 30));
  Bench("256 GiB at 256 KiB (max chunks)", 256ull << 30, 256 * 1024);
  Bench("100 GiB, auto, --digest sha256", 100ull << 30, AutoChunkSize(100ull << 30), DigestAlgorithm::kSha256);
  Bench("256 GiB at 256 KiB, sha256", 256ull << 30, 256 * 1024, DigestAlgorithm::kSha256);
  return 0;
}
