#include "common/swarm_tree.h"

#include <algorithm>
#include <numeric>

namespace lanswarm {

SwarmTree::SwarmTree(const std::vector<double>& uploads) {
  const auto n = static_cast<std::uint32_t>(uploads.size());
  std::vector<std::uint32_t> by_up(n);
  std::iota(by_up.begin(), by_up.end(), 0u);
  std::stable_sort(by_up.begin(), by_up.end(), [&](std::uint32_t a, std::uint32_t b) { return uploads[a] > uploads[b]; });
  const double top = n == 0 ? 0 : uploads[by_up[0]];
  std::uint32_t strong = 0;
  while (strong < n && uploads[by_up[strong]] >= top / 2) ++strong;
  order_[0] = by_up;
  order_[1] = by_up;
  std::reverse(order_[1].begin(), order_[1].begin() + strong);
  for (int t = 0; t < 2; ++t) {
    pos_[t].assign(n, 0);
    for (std::uint32_t p = 0; p < n; ++p) pos_[t][order_[t][p]] = p;
  }
}

std::uint32_t SwarmTree::Parent(std::uint32_t member, int tree) const {
  if (member >= size() || tree < 0 || tree > 1) return kSource;
  const std::uint32_t pos = pos_[tree][member];
  return pos == 0 ? kSource : order_[tree][(pos - 1) / 2];
}

std::uint32_t SwarmTree::EqualParent(std::uint32_t member, std::uint32_t n, int tree) {
  if (member >= n || tree < 0 || tree > 1) return kSource;
  // Tree 0 takes the members in order, tree 1 in reverse order.
  const std::uint32_t pos = tree == 0 ? member : n - 1 - member;
  if (pos == 0) return kSource;
  const std::uint32_t up = (pos - 1) / 2;
  return tree == 0 ? up : n - 1 - up;
}

}  // namespace lanswarm
