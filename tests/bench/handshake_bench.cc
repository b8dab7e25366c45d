// The CPU cost of authentication: one full handshake, both sides' work
// (each side's identity signature and the other's check, plus with a key
// the acceptor's proof, the connector's check and proof, the acceptor's
// check), open (identity only), keyed, and with a ring of 3 accepted keys
// (each check tries every key). Key pairs are made once, as a daemon does.
// The figures are in doc/security.md.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common/auth/handshake.h"
#include "common/sodium_init.h"

using namespace lanswarm;

namespace {

// Microseconds per handshake, the median of 9 runs of `n`.
double Run(const auth::KeyRing& keys, int n) {
  static const auth::Identity connector_id = auth::Identity::Ephemeral(), acceptor_id = auth::Identity::Ephemeral();
  std::vector<double> us;
  for (int run = 0; run < 9; ++run) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      auth::ConnectorHandshake c(keys, connector_id, proto::Hello{});
      auth::AcceptorHandshake a(keys, acceptor_id, proto::Hello{});
      auto reply = a.OnHello(c.hello());
      auto proof = c.OnHello(*reply);
      if (!proof.ok() || !a.OnAuth(*proof).ok() || !a.authenticated()) {
        std::fprintf(stderr, "handshake failed\n");
        std::exit(1);
      }
    }
    const auto t1 = std::chrono::steady_clock::now();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() / n);
  }
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

}  // namespace

int main() {
  if (!InitSodium().ok()) return 1;
  auth::KeyRing open, one, three;
  one.Add(auth::ClusterKey::Generate());
  for (int i = 0; i < 3; ++i) three.Add(auth::ClusterKey::Generate());
  constexpr int kN = 2000;
  std::printf("handshake (both sides, one core, median of 9 x %d)\n", kN);
  std::printf("  open (identity only) %7.2f us\n", Run(open, kN));
  std::printf("  cluster key          %7.2f us\n", Run(one, kN));
  std::printf("  3 accepted keys      %7.2f us\n", Run(three, kN));
  return 0;
}
