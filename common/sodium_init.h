// The one call that readies libsodium, for every program and library part
// that draws random bytes, keys a hash or proves a cluster key.
#pragma once

#include "common/status.h"

namespace lanswarm {

// Initialises libsodium (picking its fastest implementations for this CPU).
// Idempotent and thread-safe, as sodium_init itself is: call it before the
// first libsodium function from any place that cannot know whether another
// did already. Fails only when libsodium cannot run at all (no source of
// randomness).
Status InitSodium();

}  // namespace lanswarm
