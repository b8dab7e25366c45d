// Fixed key pairs for tests: TestIdentity(n) is the same every run (its seed
// is 32 bytes of n), so a test can name the peer id it will prove.
#pragma once

#include <array>
#include <cstdint>
#include <cstdlib>

#include "common/auth/identity.h"
#include "common/sodium_init.h"

namespace lanswarm::testing {

inline auth::Identity TestIdentity(std::uint8_t n) {
  if (!InitSodium().ok()) std::abort();  // no libsodium, no test
  std::array<std::uint8_t, 32> seed;
  seed.fill(n);
  return auth::Identity::FromSeed(seed);
}

}  // namespace lanswarm::testing
