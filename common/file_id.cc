#include "common/file_id.h"

#include <algorithm>

#include "common/hex.h"

namespace lanswarm {

std::string FileId::ToHex() const { return HexBytes(ByteView(bytes.data(), bytes.size())); }

std::optional<FileId> FileId::FromHex(std::string_view hex) {
  if (hex.size() != 2 * kSize) return std::nullopt;
  auto parsed = ParseHexBytes(hex);
  if (!parsed) return std::nullopt;
  FileId id;
  std::copy(parsed->begin(), parsed->end(), id.bytes.begin());
  return id;
}

FileId FileId::FromHash128(std::uint64_t high, std::uint64_t low) {
  FileId id;
  for (int i = 0; i < 8; ++i) {
    id.bytes[i] = static_cast<std::uint8_t>(high >> (56 - 8 * i));
    id.bytes[8 + i] = static_cast<std::uint8_t>(low >> (56 - 8 * i));
  }
  return id;
}

}  // namespace lanswarm
