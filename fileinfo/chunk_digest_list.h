// The checksums of every chunk of one file, stored packed: one algorithm for
// the list and DigestSize(algorithm) bytes per chunk, back to back.
//
// Why packed rather than a vector<ChunkDigest>: a ChunkDigest holds room for
// 32 bytes, and a file may have 2^20 chunks. Packed, an XXH3 list costs what
// the old vector<uint64_t> did (8 bytes a chunk, 8 MiB at the limit) and a
// SHA-256 or BLAKE2b list the 32 bytes a chunk it must (32 MiB at the limit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/bytes.h"
#include "fileinfo/chunk_digest.h"
#include "fileinfo/digest_algorithm.h"

namespace lanswarm {

class ChunkDigestList {
 public:
  // `count` all-zero digests of `algorithm` (for Set to fill in).
  explicit ChunkDigestList(DigestAlgorithm algorithm = kDefaultDigest, std::size_t count = 0);

  DigestAlgorithm algorithm() const { return algorithm_; }
  std::size_t size() const { return bytes_.size() / DigestSize(algorithm_); }
  bool empty() const { return bytes_.empty(); }

  // REQUIRES: i < size()
  ChunkDigest operator[](std::size_t i) const { return ChunkDigest(algorithm_, At(i)); }
  // Whether chunk i's digest is `d`; false for a digest of another algorithm.
  // REQUIRES: i < size()
  bool Matches(std::size_t i, const ChunkDigest& d) const;
  // REQUIRES: i < size(), d.algorithm() == algorithm()
  void Set(std::size_t i, const ChunkDigest& d);
  // REQUIRES: d.algorithm() == algorithm()
  void Append(const ChunkDigest& d);
  void Reserve(std::size_t count) { bytes_.reserve(count * DigestSize(algorithm_)); }
  // Keeps the first `count` digests, or adds zero ones up to `count`.
  void Resize(std::size_t count) { bytes_.resize(count * DigestSize(algorithm_)); }

  // Every digest, chunk 0 first, DigestSize(algorithm()) bytes each: what a
  // cryptographic file id is the hash of (fileinfo/chunk_hasher.h).
  ByteView packed() const { return bytes_; }

  friend bool operator==(const ChunkDigestList&, const ChunkDigestList&) = default;

 private:
  ByteView At(std::size_t i) const {
    return ByteView(bytes_.data() + i * DigestSize(algorithm_), DigestSize(algorithm_));
  }

  DigestAlgorithm algorithm_;
  Bytes bytes_;
};

}  // namespace lanswarm
