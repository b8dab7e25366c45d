#include "fileinfo/chunk_hasher.h"

#include <algorithm>
#include <cassert>
#include <cstdint>

#include "common/sodium_init.h"

namespace lanswarm {

namespace {

constexpr std::size_t kCryptoSize = DigestSize(DigestAlgorithm::kSha256);
static_assert(kCryptoSize == crypto_hash_sha256_BYTES);
static_assert(kCryptoSize == DigestSize(DigestAlgorithm::kBlake2b));
static_assert(kCryptoSize >= crypto_generichash_BYTES_MIN && kCryptoSize <= crypto_generichash_BYTES_MAX);

// Hashing needs no randomness, so a failing sodium_init does not stop it:
// the call only lets libsodium pick its fastest BLAKE2b code for this CPU,
// and the portable code it otherwise runs computes the same digests. Once
// per process (a function-local static is initialised exactly once).
void ReadySodium() {
  static const bool ready = InitSodium().ok();
  (void)ready;
}

}  // namespace

ChunkDigest HashChunk(DigestAlgorithm algorithm, const void* data, std::size_t len) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint8_t out[kCryptoSize];
  switch (algorithm) {
    case DigestAlgorithm::kXxh3:
      return ChunkDigest::FromXxh3(Xxh3_64(data, len));
    case DigestAlgorithm::kSha256:
      crypto_hash_sha256(out, p, len);
      break;
    case DigestAlgorithm::kBlake2b:
      ReadySodium();
      crypto_generichash(out, kCryptoSize, p, len, nullptr, 0);
      break;
  }
  return ChunkDigest(algorithm, ByteView(out, kCryptoSize));
}

ChunkHasher::ChunkHasher(DigestAlgorithm algorithm) : algorithm_(algorithm) {
  switch (algorithm) {
    case DigestAlgorithm::kXxh3: state_.emplace<Xxh3_64Stream>(); break;
    case DigestAlgorithm::kSha256: state_.emplace<crypto_hash_sha256_state>(); break;
    case DigestAlgorithm::kBlake2b:
      ReadySodium();
      state_.emplace<crypto_generichash_state>();
      break;
  }
  Reset();
}

void ChunkHasher::Reset() {
  switch (algorithm_) {
    case DigestAlgorithm::kXxh3: std::get<Xxh3_64Stream>(state_).Reset(); break;
    case DigestAlgorithm::kSha256: crypto_hash_sha256_init(&std::get<crypto_hash_sha256_state>(state_)); break;
    case DigestAlgorithm::kBlake2b:
      // Fails only for an output length out of range, excluded above.
      crypto_generichash_init(&std::get<crypto_generichash_state>(state_), nullptr, 0, kCryptoSize);
      break;
  }
}

void ChunkHasher::Update(const void* data, std::size_t len) {
  const auto* p = static_cast<const unsigned char*>(data);
  switch (algorithm_) {
    case DigestAlgorithm::kXxh3: std::get<Xxh3_64Stream>(state_).Update(data, len); break;
    case DigestAlgorithm::kSha256: crypto_hash_sha256_update(&std::get<crypto_hash_sha256_state>(state_), p, len); break;
    case DigestAlgorithm::kBlake2b:
      crypto_generichash_update(&std::get<crypto_generichash_state>(state_), p, len);
      break;
  }
}

ChunkDigest ChunkHasher::Finish() {
  std::uint8_t out[kCryptoSize];
  switch (algorithm_) {
    case DigestAlgorithm::kXxh3: {
      const ChunkDigest d = ChunkDigest::FromXxh3(std::get<Xxh3_64Stream>(state_).Digest());
      Reset();
      return d;
    }
    case DigestAlgorithm::kSha256:
      crypto_hash_sha256_final(&std::get<crypto_hash_sha256_state>(state_), out);
      break;
    case DigestAlgorithm::kBlake2b:
      crypto_generichash_final(&std::get<crypto_generichash_state>(state_), out, kCryptoSize);
      break;
  }
  // libsodium's final leaves the state spent; start the next chunk.
  Reset();
  return ChunkDigest(algorithm_, ByteView(out, kCryptoSize));
}

FileId CryptoFileId(const ChunkDigestList& digests) {
  assert(IsCryptographic(digests.algorithm()));
  const ByteView all = digests.packed();
  const ChunkDigest whole = HashChunk(digests.algorithm(), all.data(), all.size());
  FileId id;
  std::copy_n(whole.bytes().begin(), FileId::kSize, id.bytes.begin());
  return id;
}

}  // namespace lanswarm
