#include "common/auth/handshake.h"

#include <sodium.h>

#include <string_view>

#include <fmt/format.h>

#include "common/proto/codec.h"

namespace lanswarm::auth {

namespace {

constexpr std::string_view kAcceptorLabel = "lanswarm v2 acceptor proof";
constexpr std::string_view kConnectorLabel = "lanswarm v2 connector proof";
constexpr std::string_view kAcceptorIdLabel = "lanswarm v2 acceptor identity";
constexpr std::string_view kConnectorIdLabel = "lanswarm v2 connector identity";
constexpr std::size_t kProofSize = crypto_auth_hmacsha256_BYTES;
static_assert(kProofSize <= proto::kMaxAuthBytes);
static_assert(ClusterKey::kSize == crypto_auth_hmacsha256_KEYBYTES);

// T: the connector's HELLO frame, then the acceptor's without its proofs.
Bytes Transcript(const proto::Hello& connector, const proto::Hello& acceptor) {
  proto::Hello a = acceptor;
  a.auth.clear();
  a.signature.clear();
  Bytes t = proto::EncodeFrame(connector);
  const Bytes ta = proto::EncodeFrame(a);
  t.insert(t.end(), ta.begin(), ta.end());
  return t;
}

// label | T: what an identity signature covers.
Bytes Labelled(std::string_view label, const Bytes& transcript) {
  Bytes m(label.begin(), label.end());
  m.insert(m.end(), transcript.begin(), transcript.end());
  return m;
}

// HMAC(key, label | T).
Bytes Proof(const ClusterKey& key, std::string_view label, const Bytes& transcript) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key.data(), ClusterKey::kSize);
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(label.data()), label.size());
  crypto_auth_hmacsha256_update(&st, transcript.data(), transcript.size());
  Bytes out(kProofSize);
  crypto_auth_hmacsha256_final(&st, out.data());
  sodium_memzero(&st, sizeof st);
  return out;
}

// Whether `proof` was made with any key of the ring. Compares in constant
// time against every key, so timing tells nothing about which one matched.
bool Matches(const KeyRing& keys, std::string_view label, const Bytes& transcript, const Bytes& proof) {
  if (proof.size() != kProofSize) return false;
  bool ok = false;
  for (const ClusterKey& k : keys.accepted()) {
    ok |= sodium_memcmp(Proof(k, label, transcript).data(), proof.data(), kProofSize) == 0;
  }
  return ok;
}

// The HELLO this side sends: its identity and a fresh nonce, no proofs yet.
// The nonce is random in an open cluster too: the identity signature covers
// it, so a recorded signature proves nothing on a new connection.
proto::Hello Stamped(const Identity& me, proto::Hello h) {
  h.auth.clear();
  h.signature.clear();
  h.peer_id = me.peer_id();
  h.public_key = me.public_key();
  randombytes_buf(h.nonce.data(), h.nonce.size());
  return h;
}

// The other side's id must be its key's, so that a signature by the key
// proves the id.
Status CheckIdOfKey(const proto::Hello& theirs) {
  if (PeerIdOf(theirs.public_key) != theirs.peer_id) {
    return Status::InvalidArgument(
        fmt::format("peer id {} is not the one its public key gives", PeerIdHex(theirs.peer_id)));
  }
  return Status::Ok();
}

}  // namespace

ConnectorHandshake::ConnectorHandshake(const KeyRing& keys, const Identity& me, proto::Hello mine)
    : keys_(keys), me_(me), mine_(Stamped(me, std::move(mine))) {}

Result<proto::Auth> ConnectorHandshake::OnHello(const proto::Hello& theirs) {
  auto v = proto::NegotiateVersion(mine_, theirs);
  if (!v.ok()) return v.status();
  version_ = *v;
  if (!keys_.enabled() && !theirs.auth.empty()) {
    return Status::InvalidArgument("the other side requires a cluster key, and none is configured here (set [auth] key_file)");
  }
  if (keys_.enabled() && theirs.auth.empty()) {
    return Status::InvalidArgument("the other side runs without a cluster key, and this side requires one");
  }
  const Bytes t = Transcript(mine_, theirs);
  if (keys_.enabled() && !Matches(keys_, kAcceptorLabel, t, theirs.auth)) {
    return Status::InvalidArgument("the other side failed to prove the cluster key (is it configured with another key?)");
  }
  LANSWARM_RETURN_IF_ERROR(CheckIdOfKey(theirs));
  if (!VerifySignature(theirs.public_key, Labelled(kAcceptorIdLabel, t), theirs.signature)) {
    return Status::InvalidArgument("the other side failed to prove its peer id (bad identity signature)");
  }
  proto::Auth a;
  a.signature = me_.Sign(Labelled(kConnectorIdLabel, t));
  if (keys_.enabled()) a.proof = Proof(keys_.primary(), kConnectorLabel, t);
  return a;
}

AcceptorHandshake::AcceptorHandshake(const KeyRing& keys, const Identity& me, proto::Hello mine)
    : keys_(keys), me_(me), mine_(Stamped(me, std::move(mine))) {}

Result<proto::Hello> AcceptorHandshake::OnHello(const proto::Hello& theirs) {
  if (got_hello_) return Status::Corruption("a second HELLO");
  auto v = proto::NegotiateVersion(mine_, theirs);
  if (!v.ok()) return v.status();
  LANSWARM_RETURN_IF_ERROR(CheckIdOfKey(theirs));
  version_ = *v;
  got_hello_ = true;
  theirs_ = theirs;
  const Bytes t = Transcript(theirs, mine_);
  proto::Hello reply = mine_;
  if (keys_.enabled()) reply.auth = Proof(keys_.primary(), kAcceptorLabel, t);
  reply.signature = me_.Sign(Labelled(kAcceptorIdLabel, t));
  return reply;
}

Status AcceptorHandshake::OnAuth(const proto::Auth& auth) {
  if (!got_hello_) return Status::Corruption("AUTH before HELLO");
  if (authenticated_) return Status::Corruption("a second AUTH");
  const Bytes t = Transcript(theirs_, mine_);
  if (keys_.enabled() && !Matches(keys_, kConnectorLabel, t, auth.proof)) {
    return Status::InvalidArgument("wrong cluster key");
  }
  if (!keys_.enabled() && !auth.proof.empty()) {
    return Status::InvalidArgument("AUTH carries a cluster-key proof, but this side runs without a cluster key");
  }
  if (!VerifySignature(theirs_.public_key, Labelled(kConnectorIdLabel, t), auth.signature)) {
    return Status::InvalidArgument(
        fmt::format("peer id {} not proven (bad identity signature)", PeerIdHex(theirs_.peer_id)));
  }
  authenticated_ = true;
  return Status::Ok();
}

Status AcceptorHandshake::Admit(const proto::Message& m) const {
  // ERROR is the other side giving up: the glue closes; nothing is served.
  if (std::holds_alternative<proto::Hello>(m) || std::holds_alternative<proto::Auth>(m) ||
      std::holds_alternative<proto::Error>(m)) {
    return Status::Ok();
  }
  if (!got_hello_) {
    return Status::Corruption(
        fmt::format("expected HELLO first, got {}", proto::MessageTypeName(proto::TypeOf(m))));
  }
  if (!authenticated_) {
    return Status::InvalidArgument(fmt::format("{} before authenticating: this side requires {}",
                                               proto::MessageTypeName(proto::TypeOf(m)),
                                               keys_.enabled() ? "the cluster key" : "AUTH, proving the peer id"));
  }
  return Status::Ok();
}

proto::ErrorCode HandshakeErrorCode(const Status& s) {
  switch (s.code()) {
    case Status::Code::kUnsupported: return proto::ErrorCode::kVersion;
    case Status::Code::kCorruption: return proto::ErrorCode::kProtocol;
    default: return proto::ErrorCode::kAuth;
  }
}

}  // namespace lanswarm::auth
