// One bit per chunk: which chunks a peer holds verified. Its bytes are the
// BITFIELD message's (bit i in byte i / 8, mask 1 << (i % 8)).
#pragma once

#include <cstdint>
#include <vector>

#include "common/bytes.h"

namespace lanswarm {

class Bitfield {
 public:
  Bitfield() = default;
  explicit Bitfield(std::uint32_t count, bool all = false)
      : count_(count), bits_((count + 7) / 8, all ? 0xFF : 0), set_(all ? count : 0) {
    if (all && count % 8 != 0) bits_.back() = static_cast<std::uint8_t>((1u << (count % 8)) - 1);
  }
  // REQUIRES: bits.size() == ceil(count / 8) and no bit past count (what the codec checks).
  static Bitfield FromBytes(std::uint32_t count, Bytes bits) {
    Bitfield b;
    b.count_ = count;
    b.bits_ = std::move(bits);
    for (std::uint8_t byte : b.bits_) b.set_ += static_cast<std::uint32_t>(__builtin_popcount(byte));
    return b;
  }

  std::uint32_t size() const { return count_; }
  std::uint32_t count_set() const { return set_; }
  bool all() const { return set_ == count_; }
  bool none() const { return set_ == 0; }
  // REQUIRES: i < size()
  bool has(std::uint32_t i) const { return bits_[i / 8] & (1u << (i % 8)); }
  void set(std::uint32_t i) {
    if (has(i)) return;
    bits_[i / 8] = static_cast<std::uint8_t>(bits_[i / 8] | (1u << (i % 8)));
    ++set_;
  }
  void clear(std::uint32_t i) {
    if (!has(i)) return;
    bits_[i / 8] = static_cast<std::uint8_t>(bits_[i / 8] & ~(1u << (i % 8)));
    --set_;
  }
  const Bytes& bytes() const { return bits_; }

  friend bool operator==(const Bitfield&, const Bitfield&) = default;

 private:
  std::uint32_t count_ = 0;
  Bytes bits_;
  std::uint32_t set_ = 0;
};

}  // namespace lanswarm
