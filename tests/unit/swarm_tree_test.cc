// The two trees: every member reaches the source in each tree, a strong
// member is interior in one tree only, a weak one is a leaf in both, and
// no member has more than two children in a tree.
#include <catch2/catch.hpp>

#include <map>

#include "common/swarm_tree.h"

namespace lanswarm {

namespace {
// Children per member, per tree; and checks that each member's path to the
// source is acyclic (depth at most n).
std::array<std::map<std::uint32_t, int>, 2> Children(const SwarmTree& tree) {
  std::array<std::map<std::uint32_t, int>, 2> kids;
  for (int t = 0; t < 2; ++t) {
    for (std::uint32_t m = 0; m < tree.size(); ++m) {
      std::uint32_t at = m, hops = 0;
      while (at != SwarmTree::kSource && hops <= tree.size()) {
        at = tree.Parent(at, t);
        ++hops;
      }
      CHECK(at == SwarmTree::kSource);
      if (tree.Parent(m, t) != SwarmTree::kSource) ++kids[t][tree.Parent(m, t)];
    }
  }
  return kids;
}
}  // namespace

TEST_CASE("swarm tree: equal members are interior in one tree only, two children at most") {
  for (std::uint32_t n : {1u, 2u, 3u, 8u, 33u, 1000u}) {
    const SwarmTree tree(std::vector<double>(n, 1.0));
    REQUIRE(tree.size() == n);
    const auto kids = Children(tree);
    std::uint32_t roots = 0;
    for (std::uint32_t m = 0; m < n; ++m) {
      roots += tree.Parent(m, 0) == SwarmTree::kSource;
      const bool inner0 = kids[0].count(m) != 0, inner1 = kids[1].count(m) != 0;
      CHECK(!(inner0 && inner1));
      for (int t = 0; t < 2; ++t) {
        if (kids[t].count(m)) CHECK(kids[t].at(m) <= 2);
      }
    }
    CHECK(roots == 1);
  }
}

TEST_CASE("swarm tree: EqualParent is the tree of equal uploads") {
  for (std::uint32_t n : {1u, 2u, 7u, 64u, 1001u}) {
    const SwarmTree tree(std::vector<double>(n, 3.0));
    for (std::uint32_t m = 0; m < n; ++m) {
      for (int t = 0; t < 2; ++t) CHECK(SwarmTree::EqualParent(m, n, t) == tree.Parent(m, t));
    }
    CHECK(SwarmTree::EqualParent(n, n, 0) == SwarmTree::kSource);
  }
}

TEST_CASE("swarm tree: weak uplinks are leaves in both trees; out of range is the source") {
  // Members 1, 3, 5, 7 upload at a quarter.
  std::vector<double> up{4, 1, 4, 1, 4, 1, 4, 1};
  const SwarmTree tree(up);
  const auto kids = Children(tree);
  for (std::uint32_t weak : {1u, 3u, 5u, 7u}) {
    CHECK(kids[0].count(weak) == 0);
    CHECK(kids[1].count(weak) == 0);
  }
  CHECK(tree.IsChild(tree.size() - 1, tree.Parent(tree.size() - 1, 0)));
  CHECK(tree.Parent(8, 0) == SwarmTree::kSource);
  CHECK(tree.Parent(0, 2) == SwarmTree::kSource);
  CHECK(SwarmTree(std::vector<double>{}).size() == 0);
}

}  // namespace lanswarm
