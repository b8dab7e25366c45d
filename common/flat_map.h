// FlatMap and FlatSet: a sorted vector behind the small part of std::map's
// and std::set's interface that the download's per-peer tables use. They
// iterate in key order, as std::map does, so replacing one changes no
// decision; a lookup binary-searches one contiguous array instead of
// chasing tree nodes, which is what a table of tens of peers read on every
// HAVE, grant and chunk costs (the simulator spent a third of its time in
// those lookups at N = 1,000).
//
// Unlike std::map, any insertion or erasure invalidates every iterator,
// pointer and reference into the container. Insertion is O(size): meant
// for tables that are read far more often than changed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <tuple>
#include <utility>
#include <vector>

namespace lanswarm {

template <typename Key, typename Value>
class FlatMap {
 public:
  using value_type = std::pair<Key, Value>;
  using iterator = typename std::vector<value_type>::iterator;
  using const_iterator = typename std::vector<value_type>::const_iterator;

  iterator begin() { return items_.begin(); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  void clear() {
    items_.clear();
    keys_.clear();
  }

  iterator find(const Key& key) {
    const std::size_t i = LowerBound(key);
    return i < keys_.size() && keys_[i] == key ? items_.begin() + static_cast<std::ptrdiff_t>(i) : items_.end();
  }
  const_iterator find(const Key& key) const {
    const std::size_t i = LowerBound(key);
    return i < keys_.size() && keys_[i] == key ? items_.begin() + static_cast<std::ptrdiff_t>(i) : items_.end();
  }
  std::size_t count(const Key& key) const { return find(key) == end() ? 0 : 1; }

  // As std::map::try_emplace: inserts Value(args...) only when `key` is
  // absent; returns the element and whether it was inserted.
  template <typename... Args>
  std::pair<iterator, bool> try_emplace(const Key& key, Args&&... args) {
    const std::size_t i = LowerBound(key);
    const auto at = items_.begin() + static_cast<std::ptrdiff_t>(i);
    if (i < keys_.size() && keys_[i] == key) return {at, false};
    auto it = items_.emplace(at, std::piecewise_construct, std::forward_as_tuple(key),
                             std::forward_as_tuple(std::forward<Args>(args)...));
    keys_.insert(keys_.begin() + static_cast<std::ptrdiff_t>(i), key);
    return {it, true};
  }
  Value& operator[](const Key& key) { return try_emplace(key).first->second; }

  std::size_t erase(const Key& key) {
    auto it = find(key);
    if (it == items_.end()) return 0;
    erase(it);
    return 1;
  }
  iterator erase(iterator it) {
    keys_.erase(keys_.begin() + (it - items_.begin()));
    return items_.erase(it);
  }

 private:
  std::size_t LowerBound(const Key& key) const {
    return static_cast<std::size_t>(std::lower_bound(keys_.begin(), keys_.end(), key) - keys_.begin());
  }

  // Sorted by key, keys unique. The keys are kept twice: the search reads
  // only keys_, a few cache lines however large a Value is.
  std::vector<value_type> items_;
  std::vector<Key> keys_;
};

template <typename Key>
class FlatSet {
 public:
  using const_iterator = typename std::vector<Key>::const_iterator;

  const_iterator begin() const { return keys_.begin(); }
  const_iterator end() const { return keys_.end(); }
  std::size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }
  void clear() { keys_.clear(); }

  std::size_t count(const Key& key) const { return std::binary_search(keys_.begin(), keys_.end(), key) ? 1 : 0; }
  // True when `key` was not there before.
  bool insert(const Key& key) {
    auto it = std::lower_bound(keys_.begin(), keys_.end(), key);
    if (it != keys_.end() && *it == key) return false;
    keys_.insert(it, key);
    return true;
  }
  std::size_t erase(const Key& key) {
    auto it = std::lower_bound(keys_.begin(), keys_.end(), key);
    if (it == keys_.end() || *it != key) return 0;
    keys_.erase(it);
    return 1;
  }

 private:
  std::vector<Key> keys_;  // sorted, unique
};

}  // namespace lanswarm
