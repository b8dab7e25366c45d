// A list of 32-bit words that keeps up to two inline: the holders of one
// file. Most files in a table have one or two holders, and a std::vector
// would spend 24 bytes plus a heap block on them; this spends 16 bytes and
// no heap until a third holder arrives (doc/benchmarks.md has the numbers).
#pragma once

#include <cassert>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace lanswarm::coordinator {

class HolderList {
 public:
  HolderList() = default;
  HolderList(const HolderList&) = delete;
  HolderList& operator=(const HolderList&) = delete;
  HolderList(HolderList&& o) noexcept : size_(o.size_), cap_(o.cap_) {
    std::memcpy(&storage_, &o.storage_, sizeof storage_);
    o.size_ = 0;
    o.cap_ = kInline;
  }
  HolderList& operator=(HolderList&& o) noexcept {
    if (this != &o) {
      Release();
      size_ = o.size_;
      cap_ = o.cap_;
      std::memcpy(&storage_, &o.storage_, sizeof storage_);
      o.size_ = 0;
      o.cap_ = kInline;
    }
    return *this;
  }
  ~HolderList() { Release(); }

  std::uint32_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::uint32_t* data() { return cap_ > kInline ? storage_.heap : storage_.inline_words; }
  const std::uint32_t* data() const { return cap_ > kInline ? storage_.heap : storage_.inline_words; }
  std::uint32_t& operator[](std::uint32_t i) { return data()[i]; }
  std::uint32_t operator[](std::uint32_t i) const { return data()[i]; }
  std::uint32_t back() const { return data()[size_ - 1]; }
  const std::uint32_t* begin() const { return data(); }
  const std::uint32_t* end() const { return data() + size_; }

  void push_back(std::uint32_t v) {
    if (size_ == cap_) Grow();
    data()[size_++] = v;
  }
  // REQUIRES: !empty()
  void pop_back() {
    assert(size_ > 0);
    --size_;
    // Back inline once small again, so a file that lost its crowd costs
    // what a quiet file costs.
    if (cap_ > kInline && size_ <= kInline) {
      std::uint32_t* heap = storage_.heap;
      std::memcpy(storage_.inline_words, heap, size_ * sizeof(std::uint32_t));
      std::free(heap);
      cap_ = kInline;
    }
  }

 private:
  static constexpr std::uint32_t kInline = 2;

  void Grow() {
    const std::uint32_t cap = cap_ * 2;
    auto* heap = static_cast<std::uint32_t*>(std::malloc(std::size_t{cap} * sizeof(std::uint32_t)));
    if (heap == nullptr) throw std::bad_alloc();
    std::memcpy(heap, data(), size_ * sizeof(std::uint32_t));
    if (cap_ > kInline) std::free(storage_.heap);
    storage_.heap = heap;
    cap_ = cap;
  }
  void Release() {
    if (cap_ > kInline) std::free(storage_.heap);
    cap_ = kInline;
    size_ = 0;
  }

  std::uint32_t size_ = 0;
  std::uint32_t cap_ = kInline;
  union {
    std::uint32_t inline_words[kInline];
    std::uint32_t* heap;
  } storage_{};
};

static_assert(sizeof(HolderList) == 16);

}  // namespace lanswarm::coordinator
