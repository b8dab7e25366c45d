#include "common/auth/handshake.h"

#include <catch2/catch.hpp>

#include "common/sodium_init.h"
#include "tests/support/test_identity.h"

using namespace lanswarm;
using namespace lanswarm::auth;

namespace {

KeyRing Ring(std::initializer_list<ClusterKey> keys) {
  REQUIRE(InitSodium().ok());
  KeyRing r;
  for (const auto& k : keys) r.Add(k);
  return r;
}

ClusterKey Key(std::uint8_t fill) {
  std::array<std::uint8_t, ClusterKey::kSize> b;
  b.fill(fill);
  return ClusterKey(b);
}

proto::Hello Mine(proto::Role role) {
  proto::Hello h;
  h.role = role;
  return h;
}

// Identities 1 (connector) and 2 (acceptor).
const Identity& Id(std::uint8_t n) {
  static const Identity one = testing::TestIdentity(1), two = testing::TestIdentity(2), three = testing::TestIdentity(3);
  return n == 1 ? one : n == 2 ? two : three;
}

proto::Auth ProofOnly(Bytes proof) {
  proto::Auth a;
  a.proof = std::move(proof);
  return a;
}

struct Pair {
  ConnectorHandshake connector;
  AcceptorHandshake acceptor;
  Pair(const KeyRing& c, const KeyRing& a)
      : connector(c, Id(1), Mine(proto::Role::kPeer)), acceptor(a, Id(2), Mine(proto::Role::kPeer)) {}
};

bool Has(const Status& s, std::string_view what) { return s.message().find(what) != std::string::npos; }

}  // namespace

TEST_CASE("handshake: the same key on both sides authenticates both", "[auth]") {
  const KeyRing keys = Ring({Key(7)});
  Pair p(keys, keys);
  CHECK(p.connector.hello().nonce != proto::Nonce{});
  auto reply = p.acceptor.OnHello(p.connector.hello());
  REQUIRE(reply.ok());
  CHECK(reply->auth.size() == 32);
  CHECK(reply->nonce != p.connector.hello().nonce);
  CHECK_FALSE(p.acceptor.authenticated());
  CHECK(Has(p.acceptor.Admit(proto::Open{}), "OPEN before authenticating"));
  auto auth = p.connector.OnHello(*reply);
  REQUIRE(auth.ok());
  CHECK(auth->proof.size() == 32);
  REQUIRE(p.acceptor.OnAuth(*auth).ok());
  CHECK(p.acceptor.authenticated());
  CHECK(p.acceptor.theirs().peer_id == Id(1).peer_id());
  CHECK(reply->peer_id == Id(2).peer_id());
  CHECK(p.acceptor.Admit(proto::Open{}).ok());
  CHECK(p.acceptor.version() == proto::kProtocolVersion);
  CHECK(p.connector.version() == proto::kProtocolVersion);
}

TEST_CASE("handshake: different keys fail on both sides", "[auth]") {
  const KeyRing a = Ring({Key(1)}), b = Ring({Key(2)});
  Pair p(a, b);
  auto reply = p.acceptor.OnHello(p.connector.hello());
  REQUIRE(reply.ok());
  auto auth = p.connector.OnHello(*reply);
  REQUIRE_FALSE(auth.ok());
  CHECK(Has(auth.status(), "failed to prove the cluster key"));
  CHECK(HandshakeErrorCode(auth.status()) == proto::ErrorCode::kAuth);
  // A connector that ignores the acceptor's proof and answers with its own
  // key is refused too.
  Pair q(b, b);
  auto reply_q = q.acceptor.OnHello(q.connector.hello());
  REQUIRE(reply_q.ok());
  Status s = q.acceptor.OnAuth(ProofOnly(Bytes(32, 0x11)));
  CHECK(Has(s, "wrong cluster key"));
  CHECK_FALSE(q.acceptor.authenticated());
}

TEST_CASE("handshake: a recorded handshake replayed to a new connection fails", "[auth]") {
  const KeyRing keys = Ring({Key(3)});
  Pair first(keys, keys);
  const proto::Hello recorded_hello = first.connector.hello();
  auto reply = first.acceptor.OnHello(recorded_hello);
  REQUIRE(reply.ok());
  auto auth = first.connector.OnHello(*reply);
  REQUIRE(auth.ok());
  const proto::Auth recorded_auth = *auth;
  REQUIRE(first.acceptor.OnAuth(recorded_auth).ok());

  AcceptorHandshake second(keys, Id(2), Mine(proto::Role::kPeer));
  auto reply2 = second.OnHello(recorded_hello);
  REQUIRE(reply2.ok());
  CHECK(reply2->nonce != reply->nonce);
  CHECK(Has(second.OnAuth(recorded_auth), "wrong cluster key"));
  CHECK_FALSE(second.authenticated());
}

TEST_CASE("handshake: the acceptor's proof reflected back as AUTH fails", "[auth]") {
  const KeyRing keys = Ring({Key(4)});
  Pair p(keys, keys);
  auto reply = p.acceptor.OnHello(p.connector.hello());
  REQUIRE(reply.ok());
  CHECK_FALSE(p.acceptor.OnAuth(ProofOnly(reply->auth)).ok());
}

TEST_CASE("handshake: a tampered HELLO breaks the proof", "[auth]") {
  const KeyRing keys = Ring({Key(5)});
  Pair p(keys, keys);
  auto reply = p.acceptor.OnHello(p.connector.hello());
  REQUIRE(reply.ok());
  proto::Hello changed = *reply;
  changed.peer_id[0] ^= 1;  // an on-path rewrite of the acceptor's identity
  CHECK_FALSE(p.connector.OnHello(changed).ok());
}

TEST_CASE("handshake: rotation works while every primary is accepted everywhere", "[auth]") {
  const ClusterKey old_key = Key(8), new_key = Key(9);
  // Step 2 of a rotation: some nodes prove with the new key, some with the old.
  const KeyRing moved = Ring({new_key, old_key}), not_yet = Ring({old_key, new_key}), stale = Ring({old_key});
  Pair p(moved, not_yet);
  auto reply = p.acceptor.OnHello(p.connector.hello());
  REQUIRE(reply.ok());
  auto auth = p.connector.OnHello(*reply);
  REQUIRE(auth.ok());
  CHECK(p.acceptor.OnAuth(*auth).ok());
  // A node that never learnt the new key refuses one proving with it.
  Pair q(moved, stale);
  auto reply_q = q.acceptor.OnHello(q.connector.hello());
  REQUIRE(reply_q.ok());
  auto auth_q = q.connector.OnHello(*reply_q);
  REQUIRE(auth_q.ok());
  CHECK(Has(q.acceptor.OnAuth(*auth_q), "wrong cluster key"));
}

TEST_CASE("handshake: keyed and open sides refuse each other with a clear reason", "[auth]") {
  const KeyRing keyed = Ring({Key(6)}), open;
  SECTION("keyed acceptor, connector without a key") {
    Pair p(open, keyed);
    auto reply = p.acceptor.OnHello(p.connector.hello());
    REQUIRE(reply.ok());
    auto auth = p.connector.OnHello(*reply);
    REQUIRE_FALSE(auth.ok());
    CHECK(Has(auth.status(), "requires a cluster key"));
    // A client that goes on anyway is admitted nothing.
    CHECK(Has(p.acceptor.Admit(proto::Query{}), "QUERY before authenticating"));
  }
  SECTION("open acceptor, connector with a key") {
    Pair p(keyed, open);
    auto reply = p.acceptor.OnHello(p.connector.hello());
    REQUIRE(reply.ok());
    CHECK(reply->auth.empty());
    auto auth = p.connector.OnHello(*reply);
    REQUIRE_FALSE(auth.ok());
    CHECK(Has(auth.status(), "runs without a cluster key"));
  }
  SECTION("both open: AUTH proves the identity only, then admitted") {
    Pair p(open, open);
    CHECK(p.connector.hello().nonce != proto::Nonce{});  // fresh in the open too: signatures cover it
    auto reply = p.acceptor.OnHello(p.connector.hello());
    REQUIRE(reply.ok());
    CHECK(reply->auth.empty());
    CHECK(reply->signature.size() == kSignatureSize);
    CHECK(Has(p.acceptor.Admit(proto::Open{}), "OPEN before authenticating: this side requires AUTH"));
    auto auth = p.connector.OnHello(*reply);
    REQUIRE(auth.ok());
    CHECK(auth->proof.empty());
    REQUIRE(p.acceptor.OnAuth(*auth).ok());
    CHECK(p.acceptor.authenticated());
    CHECK(p.acceptor.theirs().peer_id == Id(1).peer_id());
    CHECK(p.acceptor.Admit(proto::Open{}).ok());
  }
}

TEST_CASE("handshake: out-of-order messages are protocol errors", "[auth]") {
  const KeyRing keys = Ring({Key(7)});
  AcceptorHandshake a(keys, Id(2), Mine(proto::Role::kCoordinator));
  Status before = a.Admit(proto::Query{});
  CHECK(Has(before, "expected HELLO first, got QUERY"));
  CHECK(HandshakeErrorCode(before) == proto::ErrorCode::kProtocol);
  CHECK(HandshakeErrorCode(a.OnAuth(ProofOnly(Bytes(32, 1)))) == proto::ErrorCode::kProtocol);
  ConnectorHandshake c(keys, Id(1), Mine(proto::Role::kPeer));
  REQUIRE(a.OnHello(c.hello()).ok());
  CHECK(Has(a.OnHello(c.hello()).status(), "a second HELLO"));
  proto::Hello old = c.hello();
  old.min_version = old.max_version = 99;
  AcceptorHandshake b(keys, Id(2), Mine(proto::Role::kCoordinator));
  auto r = b.OnHello(old);
  REQUIRE_FALSE(r.ok());
  CHECK(HandshakeErrorCode(r.status()) == proto::ErrorCode::kVersion);
}

// ---- identity: an id is proven by the key it comes from ----

TEST_CASE("handshake: an id that is not its key's is refused at HELLO", "[auth][identity]") {
  const KeyRing open;
  Pair p(open, open);
  proto::Hello forged = p.connector.hello();
  forged.peer_id = Id(3).peer_id();  // someone else's id, with our own key
  auto reply = p.acceptor.OnHello(forged);
  REQUIRE_FALSE(reply.ok());
  CHECK(Has(reply.status(), "is not the one its public key gives"));
  CHECK(HandshakeErrorCode(reply.status()) == proto::ErrorCode::kAuth);
  // The connector checks the acceptor the same way.
  Pair q(open, open);
  auto reply_q = q.acceptor.OnHello(q.connector.hello());
  REQUIRE(reply_q.ok());
  proto::Hello changed = *reply_q;
  changed.peer_id = Id(3).peer_id();
  CHECK(Has(q.connector.OnHello(changed).status(), "is not the one its public key gives"));
}

TEST_CASE("handshake: another peer's key without its secret proves nothing", "[auth][identity]") {
  const KeyRing open;
  // The connector claims identity 3 (its public key and id) but can sign only as 1.
  ConnectorHandshake attacker(open, Id(1), Mine(proto::Role::kPeer));
  proto::Hello claimed = attacker.hello();
  claimed.public_key = Id(3).public_key();
  claimed.peer_id = Id(3).peer_id();
  AcceptorHandshake acceptor(open, Id(2), Mine(proto::Role::kCoordinator));
  REQUIRE(acceptor.OnHello(claimed).ok());  // the id is the key's: only the signature can tell
  proto::Auth forged;
  forged.signature = Id(1).Sign(AsBytes("lanswarm v2 connector identity"));
  Status s = acceptor.OnAuth(forged);
  CHECK(Has(s, "not proven (bad identity signature)"));
  CHECK_FALSE(acceptor.authenticated());
}

TEST_CASE("handshake: a bad identity signature fails on either side", "[auth][identity]") {
  const KeyRing open;
  SECTION("the acceptor's") {
    Pair p(open, open);
    auto reply = p.acceptor.OnHello(p.connector.hello());
    REQUIRE(reply.ok());
    proto::Hello bad = *reply;
    bad.signature[0] ^= 1;
    auto auth = p.connector.OnHello(bad);
    REQUIRE_FALSE(auth.ok());
    CHECK(Has(auth.status(), "failed to prove its peer id"));
    bad.signature.clear();
    CHECK_FALSE(p.connector.OnHello(bad).ok());
  }
  SECTION("the connector's") {
    Pair p(open, open);
    auto reply = p.acceptor.OnHello(p.connector.hello());
    REQUIRE(reply.ok());
    auto auth = p.connector.OnHello(*reply);
    REQUIRE(auth.ok());
    auth->signature[5] ^= 0x20;
    Status s = p.acceptor.OnAuth(*auth);
    CHECK(Has(s, "not proven (bad identity signature)"));
    CHECK(HandshakeErrorCode(s) == proto::ErrorCode::kAuth);
    CHECK_FALSE(p.acceptor.authenticated());
  }
}

TEST_CASE("handshake: a recorded open handshake replayed proves no identity", "[auth][identity]") {
  const KeyRing open;
  Pair first(open, open);
  const proto::Hello recorded_hello = first.connector.hello();
  auto reply = first.acceptor.OnHello(recorded_hello);
  REQUIRE(reply.ok());
  auto auth = first.connector.OnHello(*reply);
  REQUIRE(auth.ok());
  REQUIRE(first.acceptor.OnAuth(*auth).ok());
  // The same bytes to a new connection: the acceptor's nonce is new, the
  // recorded signature covers the old one.
  AcceptorHandshake second(open, Id(2), Mine(proto::Role::kPeer));
  REQUIRE(second.OnHello(recorded_hello).ok());
  CHECK(Has(second.OnAuth(*auth), "bad identity signature"));
  CHECK_FALSE(second.authenticated());
}
