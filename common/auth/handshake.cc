#include "common/auth/handshake.h"

#include <sodium.h>

#include <string_view>

#include <fmt/format.h>

#include "common/proto/codec.h"

namespace lanswarm::auth {

namespace {

constexpr std::string_view kAcceptorLabel = "lanswarm v1 acceptor proof";
constexpr std::string_view kConnectorLabel = "lanswarm v1 connector proof";
constexpr std::size_t kProofSize = crypto_auth_hmacsha256_BYTES;
static_assert(kProofSize <= proto::kMaxAuthBytes);
static_assert(ClusterKey::kSize == crypto_auth_hmacsha256_KEYBYTES);

// HMAC(key, label | connector HELLO | acceptor HELLO without its proof).
Bytes Proof(const ClusterKey& key, std::string_view label, const proto::Hello& connector,
            const proto::Hello& acceptor) {
  proto::Hello a = acceptor;
  a.auth.clear();
  const Bytes tc = proto::EncodeFrame(connector);
  const Bytes ta = proto::EncodeFrame(a);
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key.data(), ClusterKey::kSize);
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(label.data()), label.size());
  crypto_auth_hmacsha256_update(&st, tc.data(), tc.size());
  crypto_auth_hmacsha256_update(&st, ta.data(), ta.size());
  Bytes out(kProofSize);
  crypto_auth_hmacsha256_final(&st, out.data());
  sodium_memzero(&st, sizeof st);
  return out;
}

// Whether `proof` was made with any key of the ring. Compares in constant
// time against every key, so timing tells nothing about which one matched.
bool Matches(const KeyRing& keys, std::string_view label, const proto::Hello& connector,
             const proto::Hello& acceptor, const Bytes& proof) {
  if (proof.size() != kProofSize) return false;
  bool ok = false;
  for (const ClusterKey& k : keys.accepted()) {
    ok |= sodium_memcmp(Proof(k, label, connector, acceptor).data(), proof.data(), kProofSize) == 0;
  }
  return ok;
}

proto::Hello WithNonce(const KeyRing& keys, proto::Hello h) {
  h.auth.clear();
  h.nonce.fill(0);
  if (keys.enabled()) randombytes_buf(h.nonce.data(), h.nonce.size());
  return h;
}

}  // namespace

ConnectorHandshake::ConnectorHandshake(const KeyRing& keys, proto::Hello mine)
    : keys_(keys), mine_(WithNonce(keys, std::move(mine))) {}

Result<std::optional<proto::Auth>> ConnectorHandshake::OnHello(const proto::Hello& theirs) {
  auto v = proto::NegotiateVersion(mine_, theirs);
  if (!v.ok()) return v.status();
  version_ = *v;
  if (!keys_.enabled()) {
    if (!theirs.auth.empty()) {
      return Status::InvalidArgument("the other side requires a cluster key, and none is configured here (set [auth] key_file)");
    }
    return std::optional<proto::Auth>();
  }
  if (theirs.auth.empty()) {
    return Status::InvalidArgument("the other side runs without a cluster key, and this side requires one");
  }
  if (!Matches(keys_, kAcceptorLabel, mine_, theirs, theirs.auth)) {
    return Status::InvalidArgument("the other side failed to prove the cluster key (is it configured with another key?)");
  }
  return std::optional<proto::Auth>(proto::Auth{Proof(keys_.primary(), kConnectorLabel, mine_, theirs)});
}

AcceptorHandshake::AcceptorHandshake(const KeyRing& keys, proto::Hello mine)
    : keys_(keys), mine_(WithNonce(keys, std::move(mine))) {}

Result<proto::Hello> AcceptorHandshake::OnHello(const proto::Hello& theirs) {
  if (got_hello_) return Status::Corruption("a second HELLO");
  auto v = proto::NegotiateVersion(mine_, theirs);
  if (!v.ok()) return v.status();
  version_ = *v;
  got_hello_ = true;
  theirs_ = theirs;
  proto::Hello reply = mine_;
  if (keys_.enabled()) {
    reply.auth = Proof(keys_.primary(), kAcceptorLabel, theirs, mine_);
  } else {
    authenticated_ = true;
  }
  return reply;
}

Status AcceptorHandshake::OnAuth(const proto::Auth& auth) {
  if (!got_hello_) return Status::Corruption("AUTH before HELLO");
  if (authenticated_) {
    return keys_.enabled() ? Status::Corruption("a second AUTH")
                           : Status::InvalidArgument("AUTH sent, but this side runs without a cluster key");
  }
  if (!Matches(keys_, kConnectorLabel, theirs_, mine_, auth.proof)) {
    return Status::InvalidArgument("wrong cluster key");
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
    return Status::InvalidArgument(fmt::format("{} before authenticating: this side requires the cluster key",
                                               proto::MessageTypeName(proto::TypeOf(m))));
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
