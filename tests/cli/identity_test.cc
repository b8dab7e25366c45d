// Per-peer identity against a coordinator process (issue 15, item 6): an id
// is proven by the key it is derived from, so a client cannot report under
// another peer's id, and a REPORT replaces only what its own id reported.
#include <catch2/catch.hpp>

#include "common/auth/handshake.h"
#include "common/proto/codec.h"
#include "tests/support/cluster.h"
#include "tests/support/scripted_client.h"

namespace lanswarm::testing {

using namespace std::chrono_literals;
using proto::FileState;

namespace {

FileId File(std::uint8_t n) {
  FileId id;
  id.bytes.fill(n);
  return id;
}

// The error a client gets back before the close.
std::string ErrorReason(ScriptedClient& c) {
  for (;;) {
    auto m = c.Receive();
    if (!m.ok()) return "no ERROR: " + m.status().message();
    if (const auto* e = std::get_if<proto::Error>(&*m)) return e->reason;
  }
}

}  // namespace

TEST_CASE("identity: an empty REPORT under another peer's id cannot remove its entries", "[identity][coordinator]") {
  MiniCoordinator co(0, "log_level = \"debug\"\n");
  ScriptedClient victim(co.port);
  REQUIRE(victim.Handshake(1).ok());
  victim.Send(proto::Report{proto::Endpoint{0, {}, 7001}, {{File(1), FileState::kWhole}}});
  REQUIRE(WaitFor([&] { return co.Query(File(1)).size() == 1; }, 5s));
  const proto::PeerId victim_id = ScriptedClient::IdOf(1);
  const proto::Report empty{proto::Endpoint{0, {}, 7666}, {}};

  // The attacker's HELLO, fresh from its own handshake, then forged.
  const auth::Identity attacker = ScriptedClient::IdentityOf(2);
  proto::Hello forged = auth::ConnectorHandshake(auth::KeyRing{}, attacker, proto::Hello{}).hello();
  forged.peer_id = victim_id;
  ScriptedClient c(co.port);

  SECTION("the victim's id with the attacker's own key: refused at HELLO") {
    c.Send(forged);
    c.Send(empty);
    CHECK(Has(ErrorReason(c), "is not the one its public key gives"));
    CHECK(c.WaitClosed());
  }
  SECTION("the victim's id and public key, without its secret: the AUTH is refused") {
    forged.public_key = ScriptedClient::IdentityOf(1).public_key();  // only the public half is known
    c.Send(forged);
    REQUIRE(c.Receive().ok());  // the coordinator's HELLO
    proto::Auth a;
    a.signature = attacker.Sign(AsBytes("anything the attacker can sign"));
    c.Send(a);
    c.Send(empty);
    CHECK(Has(ErrorReason(c), "not proven (bad identity signature)"));
    CHECK(c.WaitClosed());
  }
  SECTION("under its own proven id: only its own entries change") {
    REQUIRE(c.Handshake(2).ok());
    c.Send(empty);
    c.Send(proto::Report{proto::Endpoint{0, {}, 7666}, {{File(2), FileState::kWhole}}});
    REQUIRE(WaitFor([&] { return co.Query(File(2)).size() == 1; }, 5s));
  }

  // Whatever was tried, the victim is listed as before, at its own port.
  for (int i = 0; i < 3; ++i) {
    const auto holders = co.Query(File(1));
    REQUIRE(holders.size() == 1);
    CHECK(holders[0].peer == victim_id);
    CHECK(holders[0].endpoint.port == 7001);
  }
  CHECK(co.proc->running());
}

TEST_CASE("identity: one address cannot fill the table; a real peer's new share is listed", "[identity][coordinator]") {
  // Room for 3 peers and 6 entries in all, 2 peers and 4 entries per address.
  MiniCoordinator co(0, "[limits]\nmax_peers = 3\nmax_entries = 6\nmax_peers_per_address = 2\n"
                        "max_entries_per_address = 4\n");
  // One key holder at 127.0.0.2 makes ids (key pairs are free) and reports as much as it can.
  std::vector<std::unique_ptr<ScriptedClient>> flood;
  int refused = 0;
  for (std::uint8_t id = 10; id < 14; ++id) {
    auto c = std::make_unique<ScriptedClient>(co.port, "127.0.0.2");
    REQUIRE(c->Handshake(id).ok());
    c->Send(proto::Report{proto::Endpoint{0, {}, 7100}, {{File(id), FileState::kWhole}, {File(100), FileState::kWhole},
                                                          {File(101), FileState::kWhole}}});
    auto reply = c->Receive(1s);
    if (reply.ok() && std::holds_alternative<proto::Error>(*reply)) {
      CHECK(Has(std::get<proto::Error>(*reply).reason, "limit per address"));
      ++refused;
    }
    flood.push_back(std::move(c));
  }
  CHECK(refused == 3);  // the first id fits (3 entries); each later one would pass 4 from this address
  // A real peer elsewhere shares a new file: listed.
  ScriptedClient real(co.port, "127.0.0.3");
  REQUIRE(real.Handshake(1).ok());
  real.Send(proto::Report{proto::Endpoint{0, {}, 7001}, {{File(9), FileState::kWhole}, {File(8), FileState::kWhole}}});
  REQUIRE(WaitFor([&] { return co.Query(File(9)).size() == 1; }, 5s));
  CHECK(co.Query(File(9))[0].peer == ScriptedClient::IdOf(1));
  CHECK(co.proc->running());
}

}  // namespace lanswarm::testing
