#include "fileinfo/chunk_digest_list.h"

#include <algorithm>
#include <cassert>

namespace lanswarm {

ChunkDigestList::ChunkDigestList(DigestAlgorithm algorithm, std::size_t count)
    : algorithm_(algorithm), bytes_(count * DigestSize(algorithm)) {}

bool ChunkDigestList::Matches(std::size_t i, const ChunkDigest& d) const {
  assert(i < size());
  if (d.algorithm() != algorithm_) return false;
  const ByteView mine = At(i);
  return std::equal(mine.begin(), mine.end(), d.bytes().begin());
}

void ChunkDigestList::Set(std::size_t i, const ChunkDigest& d) {
  assert(i < size() && d.algorithm() == algorithm_);
  std::copy(d.bytes().begin(), d.bytes().end(), bytes_.begin() + static_cast<std::ptrdiff_t>(i * d.size()));
}

void ChunkDigestList::Append(const ChunkDigest& d) {
  assert(d.algorithm() == algorithm_);
  bytes_.insert(bytes_.end(), d.bytes().begin(), d.bytes().end());
}

}  // namespace lanswarm
