// A node's own key pair (Ed25519, libsodium crypto_sign) and the peer id
// derived from it: id = the first 16 bytes of BLAKE2b-256(public key), so an
// id cannot be chosen, only computed from a key whose secret half proves it
// (common/auth/handshake.h signs every handshake's transcript with it).
//
// A peer keeps its key in the state directory (identity.key: the 32-byte
// seed as 64 hex digits, mode 0600), made on first start. A side that needs
// no lasting identity (a tool asking the coordinator, the coordinator itself)
// uses an ephemeral key pair.
//
// Contract: the secret never reaches a log or an error message and is wiped
// (sodium_memzero) when the Identity is destroyed. libsodium must be
// initialised (InitSodium) before any call here.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "common/bytes.h"
#include "common/peer_id.h"
#include "common/proto/messages.h"
#include "common/status.h"

namespace lanswarm::auth {

using proto::kPublicKeySize;  // crypto_sign_PUBLICKEYBYTES
using proto::kSignatureSize;  // crypto_sign_BYTES
using proto::PublicKey;

// The peer id a public key stands for.
PeerId PeerIdOf(const PublicKey& key);

class Identity {
 public:
  // A fresh key pair from the OS's CSPRNG, kept nowhere.
  static Identity Ephemeral();
  // Reads the key file at `path`, or makes one (mode 0600, never
  // overwriting) when there is none. Refuses a file other users can read or
  // write, one that is not a regular file, or one that is not 64 hex digits.
  static Result<Identity> LoadOrCreate(const std::string& path);
  // The key pair a 32-byte seed gives (what the key file holds). Tests use
  // fixed seeds for ids they can name.
  static Identity FromSeed(const std::array<std::uint8_t, 32>& seed) { return Identity(seed); }

  Identity(const Identity&) = default;
  Identity& operator=(const Identity&) = default;
  ~Identity();

  const PublicKey& public_key() const { return public_; }
  const PeerId& peer_id() const { return id_; }
  // The detached signature of `message`: kSignatureSize bytes.
  Bytes Sign(ByteView message) const;

 private:
  explicit Identity(const std::array<std::uint8_t, 32>& seed);

  std::array<std::uint8_t, 64> secret_{};  // crypto_sign_SECRETKEYBYTES: seed | public key
  PublicKey public_{};
  PeerId id_{};
};

// Whether `signature` is `key`'s over `message`.
bool VerifySignature(const PublicKey& key, ByteView message, ByteView signature);

}  // namespace lanswarm::auth
