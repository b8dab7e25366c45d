// Hex text for bytes and 64-bit values: lowercase out, strict parsers in
// (exact length where one is implied, hex digits only, either case).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/bytes.h"

namespace lanswarm {

// Any bytes as lowercase hex, and the strict inverse (even length, hex digits only).
std::string HexBytes(ByteView bytes);
std::optional<Bytes> ParseHexBytes(std::string_view hex);
// Decodes exactly 2 * out.size() hex digits into `out` without allocating
// (for the per-chunk checksums of a .fileinfo, up to 2^20 of them); false,
// with `out` unspecified, on any other length or a non-hex digit.
bool DecodeHexInto(std::string_view hex, std::span<std::uint8_t> out);
// 64-bit checksums: 16 lowercase digits, and the strict inverse.
std::string HexU64(std::uint64_t v);
std::optional<std::uint64_t> ParseHexU64(std::string_view hex);

}  // namespace lanswarm
