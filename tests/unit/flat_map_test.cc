// FlatMap and FlatSet stand in for std::map and std::set in the download's
// per-peer tables: the same answers and the same order of iteration, checked
// against the std containers over a seeded sequence of operations.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>
#include <string>

#include "common/flat_map.h"

namespace lanswarm {

TEST_CASE("flat map: the same contents and order as std::map over random inserts and erases", "[flat_map]") {
  std::mt19937 rng(7);
  FlatMap<std::uint64_t, std::string> flat;
  std::map<std::uint64_t, std::string> tree;
  for (int step = 0; step < 5000; ++step) {
    const std::uint64_t key = rng() % 64;
    switch (rng() % 4) {
      case 0: {
        const auto [it, fresh] = flat.try_emplace(key, std::to_string(step));
        const auto [t, t_fresh] = tree.try_emplace(key, std::to_string(step));
        REQUIRE(fresh == t_fresh);
        REQUIRE(it->second == t->second);
        break;
      }
      case 1:
        flat[key] += "x";
        tree[key] += "x";
        break;
      case 2:
        REQUIRE(flat.erase(key) == tree.erase(key));
        break;
      default: {
        auto it = flat.find(key);
        REQUIRE((it == flat.end()) == (tree.count(key) == 0));
        if (it != flat.end()) {
          REQUIRE(it->second == tree.at(key));
          // Erasing by iterator returns the next element, as std::map's does.
          auto next = flat.erase(it);
          auto t_next = tree.erase(tree.find(key));
          REQUIRE((next == flat.end()) == (t_next == tree.end()));
          if (next != flat.end()) REQUIRE(next->first == t_next->first);
        }
      }
    }
    REQUIRE(flat.size() == tree.size());
    REQUIRE(flat.count(key) == tree.count(key));
  }
  auto t = tree.begin();
  for (const auto& [key, value] : flat) {
    REQUIRE(t != tree.end());
    CHECK(key == t->first);
    CHECK(value == t->second);
    ++t;
  }
  CHECK(t == tree.end());
}

TEST_CASE("flat map: try_emplace keeps an existing value; clear empties", "[flat_map]") {
  FlatMap<int, int> m;
  CHECK(m.empty());
  CHECK(m.try_emplace(5, 1).second);
  CHECK_FALSE(m.try_emplace(5, 2).second);
  CHECK(m.find(5)->second == 1);
  CHECK(m[6] == 0);  // value-initialised, as std::map's
  CHECK(m.size() == 2);
  CHECK(m.find(4) == m.end());
  m.clear();
  CHECK(m.empty());
  CHECK(m.find(5) == m.end());
}

TEST_CASE("flat set: the same members and order as std::set", "[flat_map]") {
  std::mt19937 rng(11);
  FlatSet<std::uint32_t> flat;
  std::set<std::uint32_t> tree;
  for (int step = 0; step < 3000; ++step) {
    const std::uint32_t key = rng() % 50;
    if (rng() % 2 == 0) {
      REQUIRE(flat.insert(key) == tree.insert(key).second);
    } else {
      REQUIRE(flat.erase(key) == tree.erase(key));
    }
    REQUIRE(flat.count(key) == tree.count(key));
    REQUIRE(flat.size() == tree.size());
  }
  CHECK(std::equal(flat.begin(), flat.end(), tree.begin(), tree.end()));
  flat.clear();
  CHECK(flat.empty());
}

}  // namespace lanswarm
