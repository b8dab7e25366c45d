#include <catch2/catch.hpp>

#include "common/chunk_layout.h"

namespace lanswarm {

constexpr std::uint32_t KiB = 1024, MiB = 1024 * 1024;

// The arithmetic is constexpr: these hold at compile time.
static_assert(ChunkLayout(0, 256 * KiB).chunk_count() == 0);
static_assert(ChunkLayout(1, 256 * KiB).chunk_count() == 1);
static_assert(ChunkLayout(1, 256 * KiB).last_length() == 1);
static_assert(ChunkLayout(512 * KiB, 256 * KiB).last_length() == 256 * KiB);
static_assert(ChunkLayout(512 * KiB + 1, 256 * KiB).chunk_count() == 3);
static_assert(AutoChunkSize(0) == 256 * KiB);
static_assert(IsValidChunkSize(1 * MiB) && !IsValidChunkSize(3 * MiB) && !IsValidChunkSize(128 * KiB));

TEST_CASE("ChunkLayout: zero-byte file has no chunks", "[chunk_layout]") {
  ChunkLayout l(0, 256 * KiB);
  CHECK(l.chunk_count() == 0);
  CHECK(l.last_length() == 0);
  CHECK(l.offset(0) == 0);
}

TEST_CASE("ChunkLayout: one-chunk files", "[chunk_layout]") {
  for (std::uint64_t size : {std::uint64_t{1}, std::uint64_t{1000}, std::uint64_t{256 * KiB}}) {
    ChunkLayout l(size, 256 * KiB);
    CHECK(l.chunk_count() == 1);
    CHECK(l.length(0) == size);
    CHECK(l.offset(0) == 0);
    CHECK(l.offset(1) == size);
    CHECK(l.chunk_of(size - 1) == 0);
  }
}

TEST_CASE("ChunkLayout: exact multiple has a full last chunk", "[chunk_layout]") {
  ChunkLayout l(8 * MiB, 1 * MiB);
  CHECK(l.chunk_count() == 8);
  CHECK(l.last_length() == 1 * MiB);
  CHECK(l.offset(7) == 7 * MiB);
  CHECK(l.offset(8) == 8 * MiB);
  CHECK(l.chunk_of(8 * MiB - 1) == 7);
}

TEST_CASE("ChunkLayout: short last chunk and byte to chunk at the edges", "[chunk_layout]") {
  ChunkLayout l(10 * MiB + 3, 1 * MiB);
  CHECK(l.chunk_count() == 11);
  CHECK(l.length(9) == 1 * MiB);
  CHECK(l.length(10) == 3);
  CHECK(l.last_length() == 3);
  CHECK(l.chunk_of(0) == 0);
  CHECK(l.chunk_of(1 * MiB - 1) == 0);
  CHECK(l.chunk_of(1 * MiB) == 1);
  CHECK(l.chunk_of(10 * MiB) == 10);
  CHECK(l.chunk_of(10 * MiB + 2) == 10);
  std::uint64_t sum = 0;
  for (std::uint32_t i = 0; i < l.chunk_count(); ++i) {
    CHECK(l.offset(i) == sum);
    sum += l.length(i);
  }
  CHECK(sum == l.file_size());
}

TEST_CASE("AutoChunkSize: powers of two in range, about 1,000-4,000 chunks", "[chunk_layout]") {
  struct Row {
    std::uint64_t size;
    std::uint32_t want;
  };
  const Row rows[] = {
      {0, 256 * KiB},
      {1, 256 * KiB},
      {4000ull * 256 * KiB, 256 * KiB},         // exactly 4,000 chunks
      {4000ull * 256 * KiB + 1, 512 * KiB},     // one byte more doubles the size
      {4ull << 30, 2 * MiB},                    // 4 GiB -> 2,048 chunks
      {62ull << 30, 16 * MiB},                  // 62 GiB -> 3,968 chunks
      {100ull << 30, 16 * MiB},                 // 100 GiB: clamped, 6,400 chunks
      {kMaxFileSize, 16 * MiB},
  };
  for (const auto& r : rows) {
    INFO(r.size);
    CHECK(AutoChunkSize(r.size) == r.want);
  }
  // Every size from 1 GiB to 62 GiB lands in (2,000, 4,000] chunks.
  for (std::uint64_t gib = 1; gib <= 62; ++gib) {
    const std::uint64_t size = gib << 30;
    const auto count = ChunkCountFor(size, AutoChunkSize(size));
    INFO(gib);
    CHECK(count > 2000);
    CHECK(count <= 4000);
  }
}

TEST_CASE("LayoutFits: rejects absurd sizes and invalid chunk sizes", "[chunk_layout]") {
  CHECK(LayoutFits(kMaxFileSize, kMaxChunkSize));
  CHECK_FALSE(LayoutFits(kMaxFileSize + 1, kMaxChunkSize));
  CHECK_FALSE(LayoutFits(UINT64_MAX, kMaxChunkSize));
  CHECK(LayoutFits(std::uint64_t{kMaxChunkCount} * kMinChunkSize, kMinChunkSize));
  CHECK_FALSE(LayoutFits(std::uint64_t{kMaxChunkCount} * kMinChunkSize + 1, kMinChunkSize));
  CHECK_FALSE(LayoutFits(100, 1000));
  CHECK_FALSE(LayoutFits(100, 0));
}

}  // namespace lanswarm
