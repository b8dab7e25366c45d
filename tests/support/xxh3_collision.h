// Two different chunks with the same XXH3: what a cluster member who
// authored a file could serve in place of the real bytes, for the tests that
// show --digest sha256 and blake2b refusing it (doc/security.md).
//
// How, from XXH3's definition: in its long-input loop each 8-byte lane d of
// a 64-byte stripe adds lo32(d ^ k) * hi32(d ^ k) to one accumulator and d
// itself to the neighbouring one, k being the secret's word for that
// stripe and lane. A lane whose low half equals k's contributes a product
// of 0, so only d is added. Two such lanes feeding the same accumulator in
// the first 1 KiB block (lane 0 of stripes 0 and 1) then collide when one's
// high half is raised by 1 and the other's lowered by 1: the sum is the same,
// so the accumulators, and every XXH3 result (64 and 128 bits, the chunk's
// checksum and the whole file's id) are the same. A SHA-256 or BLAKE2b
// digest of the two differs.
#pragma once

#include <string>

namespace lanswarm::testing {

// Makes `chunk` collision-ready (it changes bytes 0-3 and 64-67) and returns
// its twin: different bytes, the same XXH3-64 and XXH3-128, also as part of
// a larger file when the chunk starts at a multiple of 1 KiB.
// REQUIRES: chunk->size() >= 2048, so both stripes are in XXH3's block loop.
std::string MakeXxh3Twin(std::string* chunk);

}  // namespace lanswarm::testing
