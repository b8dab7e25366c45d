// The HELLO exchange every lanswarm connection starts with: protocol version
// and, when a cluster key is configured, mutual proof of the key.
//
//   connector -> acceptor   HELLO  nonce_c (32 fresh random bytes)
//   acceptor  -> connector  HELLO  nonce_a, auth = HMAC(k, "lanswarm acceptor" | T)
//   connector -> acceptor   AUTH   proof  = HMAC(k, "lanswarm connector" | T)
//
// T is the transcript: the connector's HELLO payload, then the acceptor's
// with its auth field empty, so each proof covers both nonces, both peer
// ids, roles and versions. HMAC-SHA-256 (libsodium). A recorded handshake
// does not authenticate again: the other side's nonce is fresh on every
// connection. The labels keep one side's proof from being reflected as the
// other's. Each side proves with its primary key and accepts any key of its
// ring (key rotation).
//
// With an empty ring the side neither proves nor checks; a side with a key
// refuses a side without one, so a cluster is either keyed or open. The
// acceptor must act on nothing but HELLO and AUTH until authenticated().
//
// Pure state: no sockets. Contract for the glue: send what these return,
// in order; on an error Status, send ERROR (code in `error_code()`) and close.
#pragma once

#include <optional>

#include "common/auth/key_ring.h"
#include "common/proto/messages.h"
#include "common/status.h"

namespace lanswarm::auth {

class ConnectorHandshake {
 public:
  // `keys` must outlive this. `mine` carries role, peer id and versions;
  // its nonce is filled here.
  ConnectorHandshake(const KeyRing& keys, proto::Hello mine);

  const proto::Hello& hello() const { return mine_; }
  // Checks the acceptor's HELLO: a version in common, and its proof. On
  // success returns the AUTH to send next (none when the ring is empty).
  Result<std::optional<proto::Auth>> OnHello(const proto::Hello& theirs);
  std::uint16_t version() const { return version_; }

 private:
  const KeyRing& keys_;
  proto::Hello mine_;
  std::uint16_t version_ = 0;
};

class AcceptorHandshake {
 public:
  AcceptorHandshake(const KeyRing& keys, proto::Hello mine);

  // The reply to the connector's HELLO; an error means: send ERROR, close.
  Result<proto::Hello> OnHello(const proto::Hello& theirs);
  // Checks the connector's proof.
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
  proto::Hello mine_;
  proto::Hello theirs_;
  bool got_hello_ = false;
  bool authenticated_ = false;
  std::uint16_t version_ = 0;
};

// The ERROR code for a handshake failure: version or auth.
proto::ErrorCode HandshakeErrorCode(const Status& s);

}  // namespace lanswarm::auth
