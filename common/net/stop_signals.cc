#include "common/net/stop_signals.h"

#include <signal.h>

#include <atomic>

namespace lanswarm::net {

namespace {
std::atomic<Loop*> g_loop{nullptr};
void OnSignal(int) {
  if (Loop* loop = g_loop.load()) loop->StopFromAnyThread();
}
}  // namespace

void StopOnSignals(Loop& loop) {
  g_loop.store(&loop);
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void ClearStopOnSignals() { g_loop.store(nullptr); }

}  // namespace lanswarm::net
