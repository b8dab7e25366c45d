// One chunk's checksum as a value: the algorithm and its 8 or 32 bytes.
//
// The bytes are the digest in the order the algorithm defines its output
// (for SHA-256 and BLAKE2b the output bytes; for XXH3-64 the 64-bit value
// big-endian, XXH64_canonical_t), so the hex of the bytes is the hex of the
// .fileinfo and an XXH3 checksum reads the same as the old HexU64 text.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "fileinfo/digest_algorithm.h"

namespace lanswarm {

class ChunkDigest {
 public:
  // An all-zero XXH3 digest.
  ChunkDigest() = default;
  // REQUIRES: bytes.size() == DigestSize(algorithm)
  ChunkDigest(DigestAlgorithm algorithm, ByteView bytes);
  static ChunkDigest FromXxh3(std::uint64_t value);
  // Exactly 2 * DigestSize(algorithm) hex digits, either case; nullopt otherwise.
  static std::optional<ChunkDigest> FromHex(DigestAlgorithm algorithm, std::string_view hex);

  DigestAlgorithm algorithm() const { return algorithm_; }
  std::size_t size() const { return DigestSize(algorithm_); }
  ByteView bytes() const { return ByteView(bytes_.data(), size()); }
  // Lowercase, 2 * size() digits.
  std::string ToHex() const;

  // Equal algorithm and equal bytes. Not constant-time: a chunk digest is
  // public (every .fileinfo lists them), so timing reveals nothing.
  friend bool operator==(const ChunkDigest& a, const ChunkDigest& b);

 private:
  DigestAlgorithm algorithm_ = DigestAlgorithm::kXxh3;
  std::array<std::uint8_t, kMaxDigestSize> bytes_{};  // [size(), 32) stay zero
};

}  // namespace lanswarm
