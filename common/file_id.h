// A file's identity, 16 bytes that name it on the wire: for an XXH3
// .fileinfo the XXH3-128 of its whole content in xxHash's canonical
// (big-endian) byte order; for SHA-256 and BLAKE2b the first 16 bytes of
// that algorithm over the chunk digests (fileinfo/chunk_hasher.h). A name,
// not the integrity check: the chunk digests are that.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"

namespace lanswarm {

struct FileId {
  static constexpr std::size_t kSize = 16;
  std::array<std::uint8_t, kSize> bytes{};

  // 32 lowercase hex digits.
  std::string ToHex() const;
  // Accepts exactly 32 hex digits (either case); nullopt otherwise.
  static std::optional<FileId> FromHex(std::string_view hex);
  // From XXH3-128's two halves, high half first as in XXH128_canonical_t.
  static FileId FromHash128(std::uint64_t high, std::uint64_t low);

  friend auto operator<=>(const FileId&, const FileId&) = default;
};

}  // namespace lanswarm

template <>
struct std::hash<lanswarm::FileId> {
  std::size_t operator()(const lanswarm::FileId& id) const noexcept {
    // The id is already a uniform hash; any 8 of its bytes are a good key.
    std::size_t h;
    std::memcpy(&h, id.bytes.data(), sizeof h);
    return h;
  }
};
