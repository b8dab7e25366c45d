// A crowd of stalling holders for `make test-faults` (tests/lan/test_faults.sh,
// scenario hostile_swarm): N fake peers in one process, each with its own
// Ed25519 key pair (protocol version 2: a peer id is its key's), its own
// port and its own link to the coordinator, reporting one file whole. A
// getter that connects is answered as tests/support/lying_holder.h says:
// a full BITFIELD and then nothing (silent), one byte a second (trickle),
// or OPEN never answered (mute).
//
// Everything protocol is the real code: the session layer (framing, the
// handshake, the cluster key; common/net/session.h) for the getters, and
// the peer daemon's own coordinator link (reports, reconnects;
// peer/coordinator_link.h). Test-only: built into build/$(MODE)/tests/,
// never installed.
//
//   stall_peer --coordinator IP:PORT --listen IP:FIRST_PORT --fileinfo F
//              [--silent N] [--trickle N] [--mute N] [--report-interval S] [--key-file K]
//
// Fake i (the silent ones first, then the tricklers, then the mute ones)
// listens on FIRST_PORT + i with the key pair of a fixed seed made from i,
// so a restarted tool reports under the same ids.
//
// One line per event on stderr; the test counts them:
//   stall_peer: fake I (KIND) at ADDR, id HEX
//   stall_peer: fake I: connection from ADDR
//   stall_peer: fake I: OPEN from ADDR answered with every chunk   (or: left unanswered)
//   stall_peer: fake I: REQUEST for chunk C from ADDR: sent nothing   (or: trickling it)
//   stall_peer: fake I: ADDR gone after S s (REASON)
//   stall_peer: totals: ...   (once stopped by SIGTERM or SIGINT)
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common/auth/identity.h"
#include "common/auth/key_ring.h"
#include "common/log.h"
#include "common/net/loop.h"
#include "common/net/session.h"
#include "common/net/session_pool.h"
#include "common/net/socket_address.h"
#include "common/net/stop_signals.h"
#include "common/peer_id.h"
#include "common/sodium_init.h"
#include "fileinfo/fileinfo.h"
#include "peer/coordinator_link.h"
#include "tests/support/lying_holder.h"

namespace lanswarm {
namespace {

using testing::LyingHolder;

template <typename... Args>
void Log(const char* format, Args... args) {
  std::fprintf(stderr, "stall_peer: ");
  std::fprintf(stderr, format, args...);
  std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

// Counted over every fake and connection, for the totals line.
struct Totals {
  std::uint64_t connections = 0, opens = 0, requests = 0, trickled = 0;
};

struct Fake {
  int index = 0;
  LyingHolder::Behaviour behaviour = LyingHolder::Behaviour::kSilent;
  std::shared_ptr<const auth::Identity> identity;
  std::unique_ptr<net::SessionPool> pool;
  std::unique_ptr<peer::CoordinatorLink> link;
};

// One getter's connection to one fake. `info` and `totals` outlive the
// loop (its destructor closes the connections still open).
class StallSession : public net::SessionHandler {
 public:
  StallSession(int fake, LyingHolder::Behaviour behaviour, const FileInfo& info, Totals& totals)
      : fake_(fake), totals_(totals), lie_(info, behaviour) {}

  void OnReady(net::Session& s) override {
    opened_ = s.loop().clock().now();
    ++totals_.connections;
    Log("fake %d: connection from %s", fake_, s.peer().ToString().c_str());
  }

  void OnMessage(net::Session& s, const proto::Message& m) override {
    const std::uint32_t requests_before = lie_.requests();
    Bytes out = lie_.Answer(m, s.loop().clock().now());
    if (std::holds_alternative<proto::Open>(m)) {
      ++totals_.opens;
      Log("fake %d: OPEN from %s %s", fake_, s.peer().ToString().c_str(),
          out.empty() ? "left unanswered" : "answered with every chunk");
    } else if (const auto* r = std::get_if<proto::Request>(&m); r != nullptr && lie_.requests() > requests_before) {
      ++totals_.requests;
      Log("fake %d: REQUEST for chunk %u from %s: %s", fake_, r->index, s.peer().ToString().c_str(),
          out.empty() ? "sent nothing" : "trickling it");
    }
    if (!out.empty()) s.SendFrames(std::move(out));
    if (lie_.trickling() && trickle_timer_ == 0) {
      // A tenth of the byte period: each byte leaves within 0.1 s of its time.
      trickle_timer_ = s.loop().AddPeriodic(LyingHolder::kTrickleEvery / 10, [this, &s] {
        Bytes due = lie_.Due(s.loop().clock().now());
        totals_.trickled += due.size();
        if (!due.empty()) s.SendFrames(std::move(due));
      });
    }
  }

  void OnClosed(net::Session& s, const Status& why) override {
    if (trickle_timer_ != 0) s.loop().CancelTimer(trickle_timer_);
    trickle_timer_ = 0;
    if (opened_ == Clock::TimePoint{}) return;  // never past the handshake
    const double secs = std::chrono::duration<double>(s.loop().clock().now() - opened_).count();
    Log("fake %d: %s gone after %.1f s (%s)", fake_, s.peer().ToString().c_str(), secs,
        why.ok() ? "closed" : why.message().c_str());
  }

 private:
  const int fake_;
  Totals& totals_;
  LyingHolder lie_;
  Clock::TimePoint opened_{};
  net::Loop::TimerId trickle_timer_ = 0;
};

// Fake i's key pair: fixed, and unlike every test's (tests/support/test_identity.h).
std::shared_ptr<const auth::Identity> IdentityOf(int index) {
  std::array<std::uint8_t, 32> seed;
  seed.fill(0x57);
  seed[0] = static_cast<std::uint8_t>(index);
  seed[1] = static_cast<std::uint8_t>(index >> 8);
  return std::make_shared<const auth::Identity>(auth::Identity::FromSeed(seed));
}

int Usage() {
  std::fprintf(stderr,
               "usage: stall_peer --coordinator IP:PORT --listen IP:FIRST_PORT --fileinfo F "
               "[--silent N] [--trickle N] [--mute N] [--report-interval S] [--key-file K]\n");
  return 2;
}

int Main(int argc, char** argv) {
  std::string coordinator, listen, fileinfo, key_file;
  int silent = 0, trickle = 0, mute = 0, interval = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--coordinator") coordinator = value;
    else if (flag == "--listen") listen = value;
    else if (flag == "--fileinfo") fileinfo = value;
    else if (flag == "--silent") silent = std::atoi(value.c_str());
    else if (flag == "--trickle") trickle = std::atoi(value.c_str());
    else if (flag == "--mute") mute = std::atoi(value.c_str());
    else if (flag == "--report-interval") interval = std::atoi(value.c_str());
    else if (flag == "--key-file") key_file = value;
    else return Usage();
  }
  const int n = silent + trickle + mute;
  if (argc % 2 != 1 || coordinator.empty() || listen.empty() || fileinfo.empty() || silent < 0 || trickle < 0 ||
      mute < 0 || n < 1 || interval < 1) {
    return Usage();
  }
  auto coord = net::SocketAddress::Parse(coordinator);
  auto first = net::SocketAddress::Parse(listen);
  auto info = LoadFileInfo(fileinfo);
  if (!coord.ok() || !first.ok() || !info.ok()) {
    std::fprintf(stderr, "stall_peer: bad arguments: %s\n",
                 !coord.ok() ? coord.status().message().c_str()
                 : !first.ok() ? first.status().message().c_str()
                               : info.status().message().c_str());
    return 2;
  }
  if (first->port() == 0 || first->port() + n - 1 > 65535) {
    std::fprintf(stderr, "stall_peer: ports %u to %u do not fit\n", first->port(), first->port() + n - 1);
    return 2;
  }
  if (!InitSodium().ok() || !SetupLogging("stall_peer", "info").ok()) return 1;
  auto keys = std::make_shared<auth::KeyRing>();
  if (!key_file.empty()) {
    auto loaded = auth::KeyRing::LoadFile(key_file);
    if (!loaded.ok()) {
      std::fprintf(stderr, "stall_peer: %s\n", loaded.status().message().c_str());
      return 2;
    }
    *keys = std::move(*loaded);
  }

  Totals totals;
  auto loop_or = net::Loop::Create();
  if (!loop_or.ok()) {
    std::fprintf(stderr, "stall_peer: %s\n", loop_or.status().message().c_str());
    return 1;
  }
  net::Loop& loop = **loop_or;
  net::StopOnSignals(loop);
  // Declared after the loop, so destroyed before it.
  std::vector<std::unique_ptr<Fake>> fakes;
  for (int i = 0; i < n; ++i) {
    auto fake = std::make_unique<Fake>();
    fake->index = i;
    fake->behaviour = i < silent             ? LyingHolder::Behaviour::kSilent
                      : i < silent + trickle ? LyingHolder::Behaviour::kTrickle
                                             : LyingHolder::Behaviour::kMute;
    fake->identity = IdentityOf(i);
    net::SessionOptions options;
    options.keys = keys;
    options.identity = fake->identity;
    options.hello = proto::MakeHello(proto::Role::kPeer, fake->identity->peer_id());
    const FileInfo* file = &*info;
    fake->pool = std::make_unique<net::SessionPool>(
        loop, options, net::PoolLimits{},
        [i, how = fake->behaviour, file, &totals](const net::SocketAddress&) -> std::unique_ptr<net::SessionHandler> {
          return std::make_unique<StallSession>(i, how, *file, totals);
        });
    auto at = net::SocketAddress::Parse(
        listen.substr(0, listen.rfind(':') + 1) + std::to_string(first->port() + static_cast<unsigned>(i)));
    auto bound = at.ok() ? fake->pool->Listen(*at) : Result<net::SocketAddress>(at.status());
    if (!bound.ok()) {
      std::fprintf(stderr, "stall_peer: fake %d cannot listen: %s\n", i, bound.status().message().c_str());
      return 1;
    }
    proto::Report report;
    report.listen.family = 0;  // "the address of this connection, at this port"
    report.listen.port = bound->port();
    report.files.push_back({info->id, proto::FileState::kWhole});
    fake->link = std::make_unique<peer::CoordinatorLink>(loop, *coord, fake->identity, keys,
                                                         std::chrono::seconds(interval), [report] { return report; });
    fake->link->Start();
    Log("fake %d (%s) at %s, id %s", i, std::string(LyingHolder::Name(fake->behaviour)).c_str(),
        bound->ToString().c_str(), PeerIdHex(fake->identity->peer_id()).c_str());
    fakes.push_back(std::move(fake));
  }
  Log("%d fakes (%d silent, %d trickling, %d mute) claim every chunk of %s, reporting to %s", n, silent, trickle,
      mute, info->name.c_str(), coordinator.c_str());
  const Status run = loop.Run();
  net::ClearStopOnSignals();
  fakes.clear();
  loop_or->reset();  // closes the getters' connections still open
  Log("totals: %llu connections, %llu OPENs, %llu REQUESTs, %llu bytes trickled",
      static_cast<unsigned long long>(totals.connections), static_cast<unsigned long long>(totals.opens),
      static_cast<unsigned long long>(totals.requests), static_cast<unsigned long long>(totals.trickled));
  if (!run.ok()) {
    std::fprintf(stderr, "stall_peer: %s\n", run.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace lanswarm

int main(int argc, char** argv) { return lanswarm::Main(argc, argv); }
