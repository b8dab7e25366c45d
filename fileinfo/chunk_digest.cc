#include "fileinfo/chunk_digest.h"

#include <algorithm>
#include <cassert>

#include "common/hex.h"

namespace lanswarm {

ChunkDigest::ChunkDigest(DigestAlgorithm algorithm, ByteView bytes) : algorithm_(algorithm) {
  assert(bytes.size() == DigestSize(algorithm));
  std::copy_n(bytes.begin(), std::min(bytes.size(), bytes_.size()), bytes_.begin());
}

ChunkDigest ChunkDigest::FromXxh3(std::uint64_t value) {
  ChunkDigest d;
  for (int i = 0; i < 8; ++i) d.bytes_[i] = static_cast<std::uint8_t>(value >> (56 - 8 * i));
  return d;
}

std::optional<ChunkDigest> ChunkDigest::FromHex(DigestAlgorithm algorithm, std::string_view hex) {
  ChunkDigest d;
  d.algorithm_ = algorithm;
  if (!DecodeHexInto(hex, std::span<std::uint8_t>(d.bytes_.data(), d.size()))) return std::nullopt;
  return d;
}

std::string ChunkDigest::ToHex() const { return HexBytes(bytes()); }

bool operator==(const ChunkDigest& a, const ChunkDigest& b) {
  return a.algorithm_ == b.algorithm_ && std::equal(a.bytes_.begin(), a.bytes_.end(), b.bytes_.begin());
}

}  // namespace lanswarm
