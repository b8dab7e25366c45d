// The algorithms a .fileinfo may name for its chunk checksums (`digest =`
// in doc/fileinfo.md), their names in the format and their sizes.
//
// The choice is per file, made by `fileinfo create --digest`, and every
// reader of that file (getter, server, resume, verify) must check with it.
// XXH3 guards against accidents at memory speed; SHA-256 and BLAKE2b-256
// also against a member that chooses the bytes (doc/security.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace lanswarm {

enum class DigestAlgorithm : std::uint8_t {
  kXxh3,     // XXH3-64 (seed 0) per chunk, XXH3-128 of the file as its id
  kSha256,   // SHA-256 per chunk (libsodium crypto_hash_sha256)
  kBlake2b,  // BLAKE2b with a 32-byte output, no key (libsodium crypto_generichash)
};

// Without a `digest` key a .fileinfo is XXH3, as every file before the key existed.
inline constexpr DigestAlgorithm kDefaultDigest = DigestAlgorithm::kXxh3;
// The largest digest of any algorithm, in bytes.
inline constexpr std::size_t kMaxDigestSize = 32;

// Bytes in one chunk digest: 8 for XXH3, 32 for the cryptographic ones.
constexpr std::size_t DigestSize(DigestAlgorithm a) { return a == DigestAlgorithm::kXxh3 ? 8 : 32; }

// Whether the algorithm resists an adversary who chooses the bytes.
constexpr bool IsCryptographic(DigestAlgorithm a) { return a != DigestAlgorithm::kXxh3; }

// The name in the format and on the command line: "xxh3", "sha256", "blake2b".
std::string_view DigestName(DigestAlgorithm a);

// What the chunk checksums are, for comments and `show`: "XXH3-64",
// "SHA-256", "BLAKE2b-256".
std::string_view DigestTitle(DigestAlgorithm a);

// The inverse of DigestName (exact, lowercase). An unknown name is an
// InvalidArgument error that lists the known ones.
Result<DigestAlgorithm> ParseDigestName(std::string_view name);

}  // namespace lanswarm
