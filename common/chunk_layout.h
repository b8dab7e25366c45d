// How a file is cut into chunks: constexpr value code, shared by the
// fileinfo format, the hasher, the picker and storage.
//
// Every chunk has chunk_size bytes except the last, which has the rest
// (1..chunk_size bytes). A zero-byte file has no chunks.
#pragma once

#include <cassert>
#include <cstdint>

namespace lanswarm {

inline constexpr std::uint32_t kMinChunkSize = 256u * 1024;         // 256 KiB
inline constexpr std::uint32_t kMaxChunkSize = 16u * 1024 * 1024;   // 16 MiB
// Auto chunk size aims at no more than this many chunks.
inline constexpr std::uint32_t kTargetMaxChunks = 4000;
// The most chunks a file may have: bounds every per-chunk array we allocate.
inline constexpr std::uint32_t kMaxChunkCount = 1u << 20;
// Largest file lanswarm handles: kMaxChunkCount chunks of kMaxChunkSize (16 TiB).
inline constexpr std::uint64_t kMaxFileSize = std::uint64_t{kMaxChunkCount} * kMaxChunkSize;

constexpr bool IsValidChunkSize(std::uint64_t chunk_size) {
  return chunk_size >= kMinChunkSize && chunk_size <= kMaxChunkSize &&
         (chunk_size & (chunk_size - 1)) == 0;
}

// ceil(file_size / chunk_size). REQUIRES: chunk_size > 0.
constexpr std::uint64_t ChunkCountFor(std::uint64_t file_size, std::uint64_t chunk_size) {
  return file_size / chunk_size + (file_size % chunk_size != 0 ? 1 : 0);
}

// The smallest power of two in [kMinChunkSize, kMaxChunkSize] that cuts the
// file into at most kTargetMaxChunks chunks; kMaxChunkSize for larger files.
// Doubling halves the count, so mid-sized files get 2,001-4,000 chunks.
constexpr std::uint32_t AutoChunkSize(std::uint64_t file_size) {
  std::uint32_t cs = kMinChunkSize;
  while (cs < kMaxChunkSize && ChunkCountFor(file_size, cs) > kTargetMaxChunks) cs <<= 1;
  return cs;
}

// True when a file of this size can be cut with this chunk size within limits.
constexpr bool LayoutFits(std::uint64_t file_size, std::uint64_t chunk_size) {
  return IsValidChunkSize(chunk_size) && file_size <= kMaxFileSize &&
         ChunkCountFor(file_size, chunk_size) <= kMaxChunkCount;
}

class ChunkLayout {
 public:
  // REQUIRES: LayoutFits(file_size, chunk_size)
  constexpr ChunkLayout(std::uint64_t file_size, std::uint32_t chunk_size)
      : file_size_(file_size),
        chunk_size_(chunk_size),
        chunk_count_(static_cast<std::uint32_t>(ChunkCountFor(file_size, chunk_size))) {
    assert(LayoutFits(file_size, chunk_size));
  }

  constexpr std::uint64_t file_size() const { return file_size_; }
  constexpr std::uint32_t chunk_size() const { return chunk_size_; }
  constexpr std::uint32_t chunk_count() const { return chunk_count_; }

  // Byte offset of chunk `index`. REQUIRES: index <= chunk_count() (one past
  // the end gives file_size()).
  constexpr std::uint64_t offset(std::uint32_t index) const {
    const std::uint64_t off = std::uint64_t{index} * chunk_size_;
    return off < file_size_ ? off : file_size_;
  }

  // Length in bytes of chunk `index`. REQUIRES: index < chunk_count().
  constexpr std::uint32_t length(std::uint32_t index) const {
    assert(index < chunk_count_);
    return static_cast<std::uint32_t>(offset(index + 1) - offset(index));
  }

  // Length of the last chunk, 0 for an empty file.
  constexpr std::uint32_t last_length() const {
    return chunk_count_ == 0 ? 0 : length(chunk_count_ - 1);
  }

  // The chunk holding byte `byte`. REQUIRES: byte < file_size().
  constexpr std::uint32_t chunk_of(std::uint64_t byte) const {
    assert(byte < file_size_);
    return static_cast<std::uint32_t>(byte / chunk_size_);
  }

  friend constexpr bool operator==(const ChunkLayout&, const ChunkLayout&) = default;

 private:
  std::uint64_t file_size_;
  std::uint32_t chunk_size_;
  std::uint32_t chunk_count_;
};

}  // namespace lanswarm
