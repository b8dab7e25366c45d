// Computing chunk digests with the algorithm a .fileinfo names, chosen at
// run time: whole (HashChunk), or streamed as a chunk arrives in pieces
// (ChunkHasher). Every place that checks a chunk goes through here, so they
// all check with the file's own algorithm.
//
// XXH3 keeps xxHash's _dispatch entry points (fileinfo/xxh3.h); SHA-256 and
// BLAKE2b-256 are libsodium's crypto_hash_sha256 and crypto_generichash
// with a 32-byte output and no key.
#pragma once

#include <cstddef>
#include <variant>

#include <sodium/crypto_generichash.h>
#include <sodium/crypto_hash_sha256.h>

#include "common/file_id.h"
#include "fileinfo/chunk_digest.h"
#include "fileinfo/chunk_digest_list.h"
#include "fileinfo/digest_algorithm.h"
#include "fileinfo/xxh3.h"

namespace lanswarm {

// The digest of `len` bytes at `data`.
ChunkDigest HashChunk(DigestAlgorithm algorithm, const void* data, std::size_t len);

// A chunk's digest fed in pieces: equal to HashChunk of their concatenation.
// Its state is a few hundred bytes held inline, so a hasher per connection
// or per worker costs no allocation beyond XXH3's own state.
class ChunkHasher {
 public:
  explicit ChunkHasher(DigestAlgorithm algorithm);
  ChunkHasher(const ChunkHasher&) = delete;
  ChunkHasher& operator=(const ChunkHasher&) = delete;

  DigestAlgorithm algorithm() const { return algorithm_; }
  // Starts a new chunk, dropping whatever was fed since the last one.
  void Reset();
  void Update(const void* data, std::size_t len);
  // The digest of the bytes fed since construction or the last Reset or
  // Finish; the hasher is then ready for the next chunk, as after Reset.
  ChunkDigest Finish();

 private:
  DigestAlgorithm algorithm_;
  // monostate first, so that no XXH3 state is allocated for a hasher that
  // is not XXH3.
  std::variant<std::monostate, Xxh3_64Stream, crypto_hash_sha256_state, crypto_generichash_state> state_;
};

// The file id of a .fileinfo with a cryptographic digest: the first 16
// bytes of the file's algorithm (SHA-256 or BLAKE2b-256) over every chunk
// digest in order (digests.packed()). doc/fileinfo.md says why a hash of the
// digest list rather than a second pass over the bytes, and why 16 bytes.
// REQUIRES: IsCryptographic(digests.algorithm())
FileId CryptoFileId(const ChunkDigestList& digests);

}  // namespace lanswarm
