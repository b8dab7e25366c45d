// bin/coordinator as a process on loopback: lifecycle, reports and queries,
// soft-state expiry, limits, and garbage sent to its port.
#include <signal.h>

#include <map>
#include <optional>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/proto/codec.h"
#include "tests/support/child_process.h"
#include "tests/support/scripted_client.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::testing {

using namespace std::chrono_literals;
using proto::FileState;

namespace {

// A coordinator process on a free loopback port, with extra config lines.
struct Coordinator {
  TempDir dir;
  int port = FreeLoopbackPort();
  std::unique_ptr<ChildProcess> proc;

  explicit Coordinator(const std::string& extra_config = "") {
    WriteTestFile(dir.File("coordinator.toml"),
                  "listen = \"127.0.0.1:" + std::to_string(port) + "\"\nlog_level = \"debug\"\n" + extra_config);
    proc = std::make_unique<ChildProcess>(
        std::vector<std::string>{BinPath("coordinator"), "--config", dir.File("coordinator.toml")}, dir.File("log"));
    REQUIRE(WaitFor([&] { return ScriptedClient(port).connected(); }, 5s));
  }
  std::string Log() const { return ReadTestFile(dir.File("log")); }
  std::string Address() const { return "127.0.0.1:" + std::to_string(port); }

  // STATS as a map, or nullopt when the coordinator would not answer (for
  // instance while a connection limit is reached).
  std::optional<std::map<std::string, std::uint64_t>> TryStats() {
    ScriptedClient c(port);
    if (!c.Handshake(250, proto::Role::kTool).ok()) return std::nullopt;
    c.Send(proto::StatsRequest{9});
    auto reply = c.Receive();
    if (!reply.ok() || !std::holds_alternative<proto::Stats>(*reply)) return std::nullopt;
    std::map<std::string, std::uint64_t> out;
    for (const auto& e : std::get<proto::Stats>(*reply).entries) out[e.name] = e.value;
    return out;
  }
  std::map<std::string, std::uint64_t> Stats() {
    auto s = TryStats();
    REQUIRE(s.has_value());
    return *s;
  }

  std::vector<proto::Holder> Query(const FileId& file, std::uint8_t asker = 251) {
    ScriptedClient c(port);
    REQUIRE(c.Handshake(asker).ok());
    c.Send(proto::Query{77, file});
    auto reply = c.Receive();
    REQUIRE(reply.ok());
    const auto& h = std::get<proto::Holders>(*reply);
    CHECK(h.request_id == 77);
    CHECK(h.file == file);
    return h.holders;
  }
};

FileId File(std::uint8_t n) {
  FileId id;
  id.bytes.fill(n);
  return id;
}

proto::Endpoint Endpoint(const std::string& ip, std::uint16_t port) {
  proto::Endpoint e;
  e.family = 4;
  unsigned a, b, c, d;
  std::sscanf(ip.c_str(), "%u.%u.%u.%u", &a, &b, &c, &d);
  e.address[0] = static_cast<std::uint8_t>(a);
  e.address[1] = static_cast<std::uint8_t>(b);
  e.address[2] = static_cast<std::uint8_t>(c);
  e.address[3] = static_cast<std::uint8_t>(d);
  e.port = port;
  return e;
}

// The next message must be an ERROR with this code, then the connection closes.
void ExpectErrorAndClose(ScriptedClient& c, proto::ErrorCode code, const std::string& part) {
  auto m = c.Receive();
  REQUIRE(m.ok());
  const auto* e = std::get_if<proto::Error>(&*m);
  REQUIRE(e != nullptr);
  CHECK(e->code == code);
  INFO(e->reason);
  CHECK(e->reason.find(part) != std::string::npos);
  CHECK(c.WaitClosed());
}

}  // namespace

TEST_CASE("coordinator: answers status and stops cleanly on SIGTERM and SIGINT", "[coordinator]") {
  for (int sig : {SIGTERM, SIGINT}) {
    Coordinator co;
    auto human = Run({BinPath("coordinator"), "status", co.Address()});
    CHECK(human.exit_code == 0);
    CHECK(human.out.find("coordinator 127.0.0.1:") == 0);
    CHECK(human.out.find("peers") != std::string::npos);
    auto json = Run({BinPath("coordinator"), "status", "--json", co.Address()});
    REQUIRE(json.exit_code == 0);
    auto j = nlohmann::json::parse(json.out);
    CHECK(j["entries"] == 0);
    CHECK(j["report_interval_seconds"] == 10);
    CHECK(j["expiry_seconds"] == 30);
    co.proc->Signal(sig);
    CHECK(co.proc->Wait(5s) == 0);
    CHECK(co.Log().find("stopped") != std::string::npos);
  }
}

TEST_CASE("coordinator: reports become answers, whole copies first, never the asker", "[coordinator]") {
  Coordinator co;
  ScriptedClient a(co.port), b(co.port, "127.0.0.9");
  REQUIRE(a.Handshake(1).ok());
  REQUIRE(b.Handshake(2).ok());
  // A says "my address as you see it, port 7001"; B names its address (the
  // one it reports from: the only one allowed by default).
  a.Send(proto::Report{proto::Endpoint{0, {}, 7001}, {{File(1), FileState::kPartial}, {File(2), FileState::kWhole}}});
  b.Send(proto::Report{Endpoint("127.0.0.9", 7002), {{File(1), FileState::kWhole}}});
  REQUIRE(WaitFor([&] { return co.Stats()["entries"] == 3; }, 5s));

  auto holders = co.Query(File(1));
  REQUIRE(holders.size() == 2);
  CHECK(holders[0].peer == ScriptedClient::IdOf(2));
  CHECK(holders[0].state == FileState::kWhole);
  CHECK(holders[0].endpoint == Endpoint("127.0.0.9", 7002));
  CHECK(holders[1].peer == ScriptedClient::IdOf(1));
  CHECK(holders[1].state == FileState::kPartial);
  CHECK(holders[1].endpoint == Endpoint("127.0.0.1", 7001));

  auto for_b = co.Query(File(1), /*asker=*/2);
  REQUIRE(for_b.size() == 1);
  CHECK(for_b[0].peer == ScriptedClient::IdOf(1));
  CHECK(co.Query(File(3)).empty());

  // A replaces its report: file 2 gone, file 1 now whole.
  a.Send(proto::Report{proto::Endpoint{0, {}, 7001}, {{File(1), FileState::kWhole}, {File(2), FileState::kGone}}});
  REQUIRE(WaitFor([&] { return co.Stats()["entries"] == 2; }, 5s));
  CHECK(co.Query(File(2)).empty());
  auto stats = co.Stats();
  CHECK(stats["peers"] == 2);
  CHECK(stats["files"] == 1);
  CHECK(stats["reports_total"] == 3);
}

TEST_CASE("coordinator: a peer that stops reporting is dropped after k x N", "[coordinator]") {
  Coordinator co("report_interval = 1\nexpiry_multiple = 2\n");
  {
    ScriptedClient a(co.port);
    REQUIRE(a.Handshake(1).ok());
    a.Send(proto::Report{proto::Endpoint{0, {}, 7001}, {{File(1), FileState::kWhole}}});
    REQUIRE(WaitFor([&] { return co.Stats()["entries"] == 1; }, 5s));
    CHECK(co.Query(File(1)).size() == 1);
  }  // A goes silent (and away)
  REQUIRE(WaitFor([&] { return co.Stats()["peers"] == 0; }, 6s));
  CHECK(co.Query(File(1)).empty());
  CHECK(co.Stats()["expired_peers_total"] == 1);
}

TEST_CASE("coordinator: garbage closes that connection only", "[coordinator][bad-input]") {
  Coordinator co;
  ScriptedClient good(co.port);
  REQUIRE(good.Handshake(1).ok());
  good.Send(proto::Report{proto::Endpoint{0, {}, 7001}, {{File(1), FileState::kWhole}}});
  REQUIRE(WaitFor([&] { return co.Stats()["entries"] == 1; }, 5s));

  SECTION("an HTTP request") {
    ScriptedClient c(co.port);
    c.SendRaw(AsBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    ExpectErrorAndClose(c, proto::ErrorCode::kProtocol, "exceeds the maximum");
  }
  SECTION("random bytes") {
    ScriptedClient c(co.port);
    c.SendRaw(AsBytes(RandomBytes(4096, 5)));
    CHECK(c.WaitClosed());
  }
  SECTION("a report claiming a million files") {
    ScriptedClient c(co.port);
    REQUIRE(c.Handshake(3).ok());
    Bytes header;
    PutU32(&header, 19 + 4 + 17 * 1000000);
    PutU8(&header, static_cast<std::uint8_t>(proto::MessageType::kReport));
    c.SendRaw(header);
    ExpectErrorAndClose(c, proto::ErrorCode::kProtocol, "exceeds the maximum 4194304");
  }
  SECTION("a message before HELLO") {
    ScriptedClient c(co.port);
    c.Send(proto::Query{1, File(1)});
    ExpectErrorAndClose(c, proto::ErrorCode::kProtocol, "expected HELLO first, got QUERY");
  }
  SECTION("a HELLO with the wrong magic") {
    ScriptedClient c(co.port);
    Bytes hello = proto::EncodeFrame(proto::Hello{});
    hello[proto::kFrameHeaderSize] ^= 0xFF;
    c.SendRaw(hello);
    ExpectErrorAndClose(c, proto::ErrorCode::kProtocol, "is not lanswarm's");
  }
  SECTION("a HELLO from a future version only") {
    ScriptedClient c(co.port);
    proto::Hello h;
    h.min_version = 7;
    h.max_version = 9;
    c.Send(h);
    ExpectErrorAndClose(c, proto::ErrorCode::kVersion, "no protocol version in common");
  }
  SECTION("a peer message sent to the coordinator") {
    ScriptedClient c(co.port);
    REQUIRE(c.Handshake(3).ok());
    c.Send(proto::Request{1, 2});
    ExpectErrorAndClose(c, proto::ErrorCode::kProtocol, "unexpected REQUEST");
  }
  SECTION("a tool trying to report") {
    ScriptedClient c(co.port);
    REQUIRE(c.Handshake(3, proto::Role::kTool).ok());
    c.Send(proto::Report{proto::Endpoint{0, {}, 7001}, {}});
    ExpectErrorAndClose(c, proto::ErrorCode::kProtocol, "only peers send REPORT");
  }
  SECTION("a frame cut short, then a hang-up") {
    ScriptedClient c(co.port);
    Bytes f = proto::EncodeFrame(proto::Hello{});
    c.SendRaw(ByteView(f).first(20));
  }

  // Whatever happened above, the coordinator and the good peer carry on.
  CHECK(co.proc->running());
  CHECK(co.Query(File(1)).size() == 1);
  good.Send(proto::Report{proto::Endpoint{0, {}, 7001}, {{File(1), FileState::kWhole}, {File(2), FileState::kWhole}}});
  CHECK(WaitFor([&] { return co.Stats()["entries"] == 2; }, 5s));
}

TEST_CASE("coordinator: a REPORT advertising where no peer is, or elsewhere, gets ERROR(protocol)",
          "[coordinator][bad-input]") {
  const std::string allow = GENERATE(std::string(""), std::string("allow_advertised_addresses = true\n"));
  Coordinator co(allow);
  proto::Endpoint any6{6, {}, 7002};
  const struct {
    proto::Endpoint advertised;
    const char* reason;  // with allow_advertised_addresses, or by default when different
    const char* strict_reason;
  } kRows[] = {
      {Endpoint("224.0.0.1", 7002), "REPORT advertises a multicast address, 224.0.0.1:7002", nullptr},
      {Endpoint("0.0.0.0", 7002), "REPORT advertises an unspecified address, 0.0.0.0:7002", nullptr},
      {Endpoint("255.255.255.255", 7002), "REPORT advertises the broadcast address, 255.255.255.255:7002", nullptr},
      {any6, "REPORT advertises an unspecified address, [0:0:0:0:0:0:0:0]:7002", nullptr},
      {Endpoint("127.0.0.9", 22), nullptr,
       "REPORT advertises 127.0.0.9:22 but comes from 127.0.0.1 (allow_advertised_addresses is off)"},
  };
  for (const auto& row : kRows) {
    const char* reason = allow.empty() && row.strict_reason != nullptr ? row.strict_reason : row.reason;
    ScriptedClient c(co.port);
    REQUIRE(c.Handshake(3).ok());
    c.Send(proto::Report{row.advertised, {{File(1), FileState::kWhole}}});
    if (reason == nullptr) {  // loopback from loopback, allowed
      REQUIRE(WaitFor([&] { return co.Query(File(1)).size() == 1; }, 5s));
      CHECK(co.Query(File(1))[0].endpoint == row.advertised);
      continue;
    }
    ExpectErrorAndClose(c, proto::ErrorCode::kProtocol, reason);
    CHECK(co.Query(File(1)).empty());
  }
  CHECK(co.Stats()["protocol_errors_total"] == (allow.empty() ? 5 : 4));
  CHECK(co.proc->running());
}

TEST_CASE("coordinator: a report over the file limit is refused with ERROR(limit)", "[coordinator][bad-input]") {
  Coordinator co("[limits]\nmax_files_per_report = 10\n");
  ScriptedClient c(co.port);
  REQUIRE(c.Handshake(1).ok());
  c.Send(proto::Report{proto::Endpoint{0, {}, 7001}, {{File(1), FileState::kWhole}}});
  proto::Report big{proto::Endpoint{0, {}, 7001}, {}};
  for (int i = 0; i < 11; ++i) big.files.push_back({File(static_cast<std::uint8_t>(i + 10)), FileState::kWhole});
  c.Send(big);
  ExpectErrorAndClose(c, proto::ErrorCode::kLimit, "report lists 11 files, the limit is 10");
  CHECK(co.Query(File(1)).size() == 1);  // the earlier report stands
  CHECK(co.Stats()["entries"] == 1);
}

TEST_CASE("coordinator: connection limits refuse a flood, others still served", "[coordinator][bad-input]") {
  Coordinator co("[limits]\nmax_connections = 40\nmax_connections_per_address = 10\n");
  std::vector<std::unique_ptr<ScriptedClient>> flood;
  for (int i = 0; i < 30; ++i) flood.push_back(std::make_unique<ScriptedClient>(co.port, "127.0.0.2"));
  int closed = 0;
  for (auto& c : flood) closed += c->WaitClosed(200ms) ? 1 : 0;
  CHECK(closed == 20);  // ten accepted from 127.0.0.2, the rest closed at once
  auto stats = co.Stats();  // from 127.0.0.1: its own budget
  CHECK(stats["connections"] == 11);
  CHECK(stats["refused_connections_total"] == 20);
  // From many addresses, 5 each: with all 40 slots taken, each newcomer
  // closes the oldest connection that has not said HELLO (outsiders cannot
  // hold the slots), and nothing more is refused.
  for (int i = 0; i < 50; ++i) {
    flood.push_back(std::make_unique<ScriptedClient>(co.port, "127.0.0." + std::to_string(3 + i % 10)));
  }
  CHECK(WaitFor([&] { auto s = co.TryStats(); return s && (*s)["evicted_connections_total"] >= 21; }, 5s));
  flood.clear();
  CHECK(WaitFor(
      [&] {
        auto s = co.TryStats();
        return s && (*s)["refused_connections_total"] == 20 && (*s)["connections"] == 1;
      },
      5s));
  CHECK(co.proc->running());
}

TEST_CASE("coordinator: a connection that never says HELLO is dropped", "[coordinator][bad-input]") {
  Coordinator co("[limits]\nhello_timeout = 1\n");
  ScriptedClient silent(co.port);
  ExpectErrorAndClose(silent, proto::ErrorCode::kProtocol, "no HELLO within 1 s");
}

TEST_CASE("coordinator: bad flags and configs exit 2 with one line; no answer exits 1", "[coordinator]") {
  TempDir dir;
  struct Row {
    std::vector<std::string> args;
    std::string config, message;
    int code;
  };
  const std::string cfg = dir.File("c.toml");
  const std::vector<Row> rows = {
      {{"--listen", "127.0.0.1:70000"}, "", "port must be a number", 2},
      {{"--config", cfg}, "report_intervall = 3\n", "key 'report_intervall': unknown key", 2},
      {{"--config", cfg}, "expiry_multiple = 1\n", "key 'expiry_multiple': 1 is out of range [2, 100]", 2},
      {{"--config", cfg}, "[auth]\ncluster_key_file = \"/k\"\n", "key 'auth.cluster_key_file': unknown key", 2},
      {{"--config", cfg}, "[auth]\nkey = \"abc\"\n", "a cluster key is 64 hex digits", 2},
      {{"--config", cfg}, "[auth]\nkey_file = \"" + dir.File("no.key") + "\"\n", "no.key: No such file", 2},
      {{"--config", cfg}, "log_level = \"loud\"\n", "log_level 'loud'", 2},
      {{"--config", dir.File("missing.toml")}, "", "missing.toml: No such file", 2},
      {{"--log-level", "chatty"}, "", "log_level 'chatty'", 2},
      {{"status", "127.0.0.1:" + std::to_string(FreeLoopbackPort())}, "", "Connection refused", 1},
      {{"--bogus"}, "", "--bogus", 2},
  };
  for (const Row& row : rows) {
    INFO(row.message);
    if (!row.config.empty()) WriteTestFile(cfg, row.config);
    std::vector<std::string> argv = {BinPath("coordinator")};
    argv.insert(argv.end(), row.args.begin(), row.args.end());
    auto r = Run(argv, 10);
    CHECK(r.exit_code == row.code);
    CHECK(r.err.find(row.message) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  auto help = Run({BinPath("coordinator"), "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("--listen") != std::string::npos);
  CHECK(Run({BinPath("coordinator"), "status", "--help"}).exit_code == 0);
}

}  // namespace lanswarm::testing
