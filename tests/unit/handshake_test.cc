#include "common/auth/handshake.h"

#include <catch2/catch.hpp>

#include "common/sodium_init.h"

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

proto::Hello Mine(proto::Role role, std::uint8_t id) {
  proto::Hello h;
  h.role = role;
  h.peer_id.fill(id);
  return h;
}

struct Pair {
  ConnectorHandshake connector;
  AcceptorHandshake acceptor;
  Pair(const KeyRing& c, const KeyRing& a)
      : connector(c, Mine(proto::Role::kPeer, 1)), acceptor(a, Mine(proto::Role::kPeer, 2)) {}
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
  REQUIRE(auth->has_value());
  REQUIRE(p.acceptor.OnAuth(**auth).ok());
  CHECK(p.acceptor.authenticated());
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
  proto::Auth forged{Bytes(32, 0x11)};
  Status s = q.acceptor.OnAuth(forged);
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
  const proto::Auth recorded_auth = **auth;
  REQUIRE(first.acceptor.OnAuth(recorded_auth).ok());

  AcceptorHandshake second(keys, Mine(proto::Role::kPeer, 2));
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
  CHECK_FALSE(p.acceptor.OnAuth(proto::Auth{reply->auth}).ok());
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
  CHECK(p.acceptor.OnAuth(**auth).ok());
  // A node that never learnt the new key refuses one proving with it.
  Pair q(moved, stale);
  auto reply_q = q.acceptor.OnHello(q.connector.hello());
  REQUIRE(reply_q.ok());
  auto auth_q = q.connector.OnHello(*reply_q);
  REQUIRE(auth_q.ok());
  CHECK(Has(q.acceptor.OnAuth(**auth_q), "wrong cluster key"));
}

TEST_CASE("handshake: keyed and open sides refuse each other with a clear reason", "[auth]") {
  const KeyRing keyed = Ring({Key(6)}), open;
  SECTION("keyed acceptor, connector without a key") {
    Pair p(open, keyed);
    CHECK(p.connector.hello().nonce == proto::Nonce{});
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
  SECTION("both open: no AUTH, admitted after HELLO") {
    Pair p(open, open);
    auto reply = p.acceptor.OnHello(p.connector.hello());
    REQUIRE(reply.ok());
    auto auth = p.connector.OnHello(*reply);
    REQUIRE(auth.ok());
    CHECK_FALSE(auth->has_value());
    CHECK(p.acceptor.authenticated());
    CHECK(p.acceptor.Admit(proto::Open{}).ok());
  }
}

TEST_CASE("handshake: out-of-order messages are protocol errors", "[auth]") {
  const KeyRing keys = Ring({Key(7)});
  AcceptorHandshake a(keys, Mine(proto::Role::kCoordinator, 2));
  Status before = a.Admit(proto::Query{});
  CHECK(Has(before, "expected HELLO first, got QUERY"));
  CHECK(HandshakeErrorCode(before) == proto::ErrorCode::kProtocol);
  CHECK(HandshakeErrorCode(a.OnAuth(proto::Auth{Bytes(32, 1)})) == proto::ErrorCode::kProtocol);
  ConnectorHandshake c(keys, Mine(proto::Role::kPeer, 1));
  REQUIRE(a.OnHello(c.hello()).ok());
  CHECK(Has(a.OnHello(c.hello()).status(), "a second HELLO"));
  proto::Hello old = c.hello();
  old.min_version = old.max_version = 99;
  AcceptorHandshake b(keys, Mine(proto::Role::kCoordinator, 2));
  auto r = b.OnHello(old);
  REQUIRE_FALSE(r.ok());
  CHECK(HandshakeErrorCode(r.status()) == proto::ErrorCode::kVersion);
}
