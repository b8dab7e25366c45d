// Two interior-disjoint binary trees over one file's getters (the shape of
// SplitStream): each getter has a parent in each tree, the source (a whole
// copy) at the two roots, and a getter strong enough to forward is interior
// in one tree and a leaf in the other, so it forwards at most two chunks at
// once and receives from two parents at once, whatever the swarm's size.
//
// Why a structure: with grants alone (peer/upload_scheduler) the holders
// and getters of a mesh meet at random, and a chunk reaches the last getter
// only after many hops of queueing; along the trees it takes log2(N) hops,
// each one chunk time at half the link (tests/sim: N = 1,000 at 1.2 x T_min
// instead of 1.65 x with grants alone and 25.8 x with neither). The trees
// only order grants: a getter still asks any holder for anything (the mesh
// repairs a slow or dead parent), a holder grants its tree children first.
//
// Placement: members by upload, fastest first (ties by the order given:
// join order). Tree 0 takes them in that order; tree 1 takes the strong
// ones (at least half the fastest's upload) in reverse order, then the
// others. A weak uplink is thus a leaf in both trees, as long as the strong
// members fill the interior positions; a strong one is interior in one tree
// only, as long as there are as many strong members as interior positions
// in both trees together.
//
// Pure: members are indices 0..n-1 of the caller's list.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <vector>

namespace lanswarm {

class SwarmTree {
 public:
  static constexpr std::uint32_t kSource = std::numeric_limits<std::uint32_t>::max();

  // `uploads[i]`: member i's upload capacity (any unit; only ratios count).
  explicit SwarmTree(const std::vector<double>& uploads);

  // Member i's parent in tree t (0 or 1): a member index, or kSource.
  std::uint32_t Parent(std::uint32_t member, int tree) const;
  // Whether `child` has `parent` as its parent in either tree.
  bool IsChild(std::uint32_t child, std::uint32_t parent) const {
    return Parent(child, 0) == parent || Parent(child, 1) == parent;
  }
  std::uint32_t size() const { return static_cast<std::uint32_t>(order_[0].size()); }

  // The same for n members of equal upload, without building anything:
  // member i's parent in tree t, in O(1) (the coordinator's case: it knows
  // no uploads, and answers every query).
  static std::uint32_t EqualParent(std::uint32_t member, std::uint32_t n, int tree);

 private:
  std::array<std::vector<std::uint32_t>, 2> order_;  // position -> member
  std::array<std::vector<std::uint32_t>, 2> pos_;    // member -> position
};

}  // namespace lanswarm
