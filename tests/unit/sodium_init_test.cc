// InitSodium may be called from every part that needs libsodium, in any
// order and from any thread.
#include "common/sodium_init.h"

#include <thread>
#include <vector>

#include <catch2/catch.hpp>

namespace lanswarm {

TEST_CASE("InitSodium: a second call succeeds too", "[sodium]") {
  CHECK(InitSodium().ok());
  CHECK(InitSodium().ok());
}

TEST_CASE("InitSodium: calls from several threads at once all succeed", "[sodium]") {
  std::vector<int> ok(4, 0);
  std::vector<std::thread> threads;
  for (int& o : ok) threads.emplace_back([&o] { o = InitSodium().ok() ? 1 : 0; });
  for (auto& t : threads) t.join();
  CHECK(ok == std::vector<int>(4, 1));
}

}  // namespace lanswarm
