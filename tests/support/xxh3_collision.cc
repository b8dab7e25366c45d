#include "tests/support/xxh3_collision.h"

#include <cassert>
#include <cstdint>
#include <cstring>

// The default secret is an internal of xxHash, reachable only with the
// implementation inlined into this one file.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace lanswarm::testing {

namespace {

std::uint64_t Load64(const void* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);  // little-endian, as XXH3 reads (x86 here)
  return v;
}

void Store64(void* p, std::uint64_t v) { std::memcpy(p, &v, sizeof v); }

}  // namespace

std::string MakeXxh3Twin(std::string* chunk) {
  assert(chunk->size() >= 2048);
  static_assert(XXH_STRIPE_LEN == 64 && XXH_SECRET_CONSUME_RATE == 8);
  char* stripe0 = chunk->data();                   // lane 0 of stripe 0: secret word 0
  char* stripe1 = chunk->data() + XXH_STRIPE_LEN;  // lane 0 of stripe 1: secret word at 8
  const std::uint64_t k0 = Load64(XXH3_kSecret);
  const std::uint64_t k1 = Load64(XXH3_kSecret + XXH_SECRET_CONSUME_RATE);
  constexpr std::uint64_t kLow = 0xffffffffu;
  // Low halves equal to the secret's: both products are 0.
  Store64(stripe0, (Load64(stripe0) & ~kLow) | (k0 & kLow));
  Store64(stripe1, (Load64(stripe1) & ~kLow) | (k1 & kLow));

  std::string twin = *chunk;
  // +2^32 on one lane, -2^32 on the other: their sum, all the accumulator
  // sees, is unchanged; the low halves (and so the products) stay as they are.
  Store64(twin.data(), Load64(twin.data()) + (kLow + 1));
  Store64(twin.data() + XXH_STRIPE_LEN, Load64(twin.data() + XXH_STRIPE_LEN) - (kLow + 1));
  return twin;
}

}  // namespace lanswarm::testing
