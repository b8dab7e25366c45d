// A node's identity on the wire: 16 bytes derived from its public key
// (common/auth/identity.h), carried in HELLO and in every HOLDERS entry.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lanswarm {

using PeerId = std::array<std::uint8_t, 16>;

// 32 lowercase hex digits, and the strict inverse (exactly 32 hex digits).
std::string PeerIdHex(const PeerId& id);
std::optional<PeerId> ParsePeerId(std::string_view hex);

}  // namespace lanswarm
