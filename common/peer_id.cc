#include "common/peer_id.h"

#include <algorithm>

#include "common/hex.h"

namespace lanswarm {

std::string PeerIdHex(const PeerId& id) { return HexBytes(ByteView(id.data(), id.size())); }

std::optional<PeerId> ParsePeerId(std::string_view hex) {
  if (hex.size() != 2 * PeerId().size()) return std::nullopt;
  auto parsed = ParseHexBytes(hex);
  if (!parsed) return std::nullopt;
  PeerId id{};
  std::copy(parsed->begin(), parsed->end(), id.begin());
  return id;
}

}  // namespace lanswarm
