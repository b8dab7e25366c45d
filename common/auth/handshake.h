// The HELLO exchange every lanswarm connection starts with: protocol
// version, each side's identity and, when a cluster key is configured,
// mutual proof of the key.
//
//   connector -> acceptor   HELLO  nonce_c, public key P_c, id_c
//   acceptor  -> connector  HELLO  nonce_a, P_a, id_a,
//                                  auth = HMAC(k, "lanswarm v2 acceptor proof" | T)   (keyed only)
//                                  signature = Sign(P_a, "lanswarm v2 acceptor identity" | T)
//   connector -> acceptor   AUTH   signature = Sign(P_c, "lanswarm v2 connector identity" | T),
//                                  proof = HMAC(k, "lanswarm v2 connector proof" | T)  (keyed only)
//
// T is the transcript: the connector's HELLO frame, then the acceptor's
// with its auth and signature empty, so each proof covers both nonces (32
// fresh random bytes per side and connection), both ids and keys, roles and
// versions. An id must be the first 16 bytes of BLAKE2b(its public key)
// (auth::PeerIdOf), so once the signature checks out the id is proven: no
// one can speak under an id without the secret key it comes from. A
// recorded handshake does not prove anything again, since the other side's
// nonce is fresh; the labels keep one side's proof or signature from being
// reflected as the other's. HMAC-SHA-256 and Ed25519 (libsodium). Each side
// proves the key with its primary and accepts any key of its ring.
//
// With an empty ring there is no cluster-key proof (identity is proven all
// the same); a side with a key refuses a side without one, so a cluster is
// either keyed or open. The acceptor must act on nothing but HELLO and AUTH
// until authenticated().
//
// Pure state: no sockets. Contract for the glue: send what these return,
// in order; on an error Status, send ERROR (code in `error_code()`) and close.
#pragma once

#include "common/auth/identity.h"
#include "common/auth/key_ring.h"
#include "common/proto/messages.h"
#include "common/status.h"

namespace lanswarm::auth {

class ConnectorHandshake {
 public:
  // `keys` and `me` must outlive this. `mine` carries role and versions;
  // its peer id, public key and nonce are filled here.
  ConnectorHandshake(const KeyRing& keys, const Identity& me, proto::Hello mine);

  const proto::Hello& hello() const { return mine_; }
  // Checks the acceptor's HELLO: a version in common, its identity and its
  // cluster-key proof. On success returns the AUTH to send next; the
  // acceptor's id (theirs.peer_id) is then proven.
  Result<proto::Auth> OnHello(const proto::Hello& theirs);
  std::uint16_t version() const { return version_; }

 private:
  const KeyRing& keys_;
  const Identity& me_;
  proto::Hello mine_;
  std::uint16_t version_ = 0;
};

class AcceptorHandshake {
 public:
  // As ConnectorHandshake's.
  AcceptorHandshake(const KeyRing& keys, const Identity& me, proto::Hello mine);

  // The reply to the connector's HELLO; an error means: send ERROR, close.
  Result<proto::Hello> OnHello(const proto::Hello& theirs);
  // Checks the connector's identity signature and cluster-key proof; once
  // it succeeds, theirs().peer_id is proven.
  Status OnAuth(const proto::Auth& auth);
  // Whether `m`, arriving now, may be acted on. HELLO and AUTH are the
  // handshake's and ERROR only ends the connection; anything else needs
  // authenticated(). An error Status says why not.
  Status Admit(const proto::Message& m) const;

  bool got_hello() const { return got_hello_; }
  bool authenticated() const { return authenticated_; }
  std::uint16_t version() const { return version_; }
  const proto::Hello& theirs() const { return theirs_; }

 private:
  const KeyRing& keys_;
  const Identity& me_;
  proto::Hello mine_;
  proto::Hello theirs_;
  bool got_hello_ = false;
  bool authenticated_ = false;
  std::uint16_t version_ = 0;
};

// The ERROR code for a handshake failure: version or auth.
proto::ErrorCode HandshakeErrorCode(const Status& s);

}  // namespace lanswarm::auth
