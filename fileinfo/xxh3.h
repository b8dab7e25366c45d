// XXH3, the fast non-cryptographic digest of the format (XXH3-64 per chunk,
// XXH3-128 of the whole file as its id), and the one place that picks
// xxHash's entry points. Callers outside fileinfo/ go through ChunkHasher
// (fileinfo/chunk_hasher.h), which also knows the cryptographic digests.
//
// Normal builds call the _dispatch entry points, which choose SSE2, AVX2 or
// AVX-512 at run time (about 4x faster than the portable code here). Debian
// ships them only in libxxhash.so; its libxxhash.a lacks them, so the static
// build (LANSWARM_STATIC, for the FROM-scratch docker images) uses the
// baseline entry points. Both compute the same values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include <xxhash.h>
#ifndef LANSWARM_STATIC
#include <xxh_x86dispatch.h>
#endif

#include "common/file_id.h"

namespace lanswarm {

// XXH3-64 (seed 0) of one chunk.
inline std::uint64_t Xxh3_64(const void* data, std::size_t len) {
#ifdef LANSWARM_STATIC
  return XXH3_64bits(data, len);
#else
  return XXH3_64bits_dispatch(data, len);
#endif
}

// Streaming XXH3-64 of one chunk fed in pieces; equal to Xxh3_64 of the
// concatenation. For chunks larger than the hasher's read unit.
class Xxh3_64Stream {
 public:
  // The state is allocated by the library, so its layout may change between
  // xxHash versions without breaking us. Aborts only if malloc fails.
  Xxh3_64Stream() : state_(XXH3_createState()) {
    if (state_ == nullptr) std::abort();
    Reset();
  }
  Xxh3_64Stream(const Xxh3_64Stream&) = delete;
  Xxh3_64Stream& operator=(const Xxh3_64Stream&) = delete;
  ~Xxh3_64Stream() { XXH3_freeState(state_); }

  void Reset() { XXH3_64bits_reset(state_); }
  void Update(const void* data, std::size_t len) {
#ifdef LANSWARM_STATIC
    XXH3_64bits_update(state_, data, len);
#else
    XXH3_64bits_update_dispatch(state_, data, len);
#endif
  }
  // Leaves the state as it was: more Updates continue the same stream.
  std::uint64_t Digest() const { return XXH3_64bits_digest(state_); }

 private:
  XXH3_state_t* state_;
};

// Streaming XXH3-128 over a whole file, fed in order: the file id of an
// XXH3 .fileinfo.
class Xxh3_128Stream {
 public:
  Xxh3_128Stream() : state_(XXH3_createState()) {
    if (state_ == nullptr) std::abort();
    XXH3_128bits_reset(state_);
  }
  Xxh3_128Stream(const Xxh3_128Stream&) = delete;
  Xxh3_128Stream& operator=(const Xxh3_128Stream&) = delete;
  ~Xxh3_128Stream() { XXH3_freeState(state_); }

  void Update(const void* data, std::size_t len) {
#ifdef LANSWARM_STATIC
    XXH3_128bits_update(state_, data, len);
#else
    XXH3_128bits_update_dispatch(state_, data, len);
#endif
  }

  FileId Finish() const {
    const XXH128_hash_t h = XXH3_128bits_digest(state_);
    return FileId::FromHash128(h.high64, h.low64);
  }

 private:
  XXH3_state_t* state_;
};

}  // namespace lanswarm
