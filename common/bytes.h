// Little-endian fixed-width encoding: encoders append to a byte buffer,
// a ByteReader consumes from a view and reports failure instead of reading
// past the end. Every multi-byte integer lanswarm puts on the wire or on disk
// goes through here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace lanswarm {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Stores `v` at p[0..N) least significant byte first. REQUIRES: p has N bytes.
template <typename UInt>
constexpr void StoreLE(std::uint8_t* p, UInt v) {
  for (std::size_t i = 0; i < sizeof(UInt); ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Loads an N-byte little-endian integer. REQUIRES: p has N bytes.
template <typename UInt>
constexpr UInt LoadLE(const std::uint8_t* p) {
  UInt v = 0;
  for (std::size_t i = 0; i < sizeof(UInt); ++i) v |= static_cast<UInt>(p[i]) << (8 * i);
  return v;
}

inline void PutU8(Bytes* out, std::uint8_t v) { out->push_back(v); }

template <typename UInt>
inline void PutLE(Bytes* out, UInt v) {
  const std::size_t at = out->size();
  out->resize(at + sizeof(UInt));
  StoreLE<UInt>(out->data() + at, v);
}
inline void PutU16(Bytes* out, std::uint16_t v) { PutLE(out, v); }
inline void PutU32(Bytes* out, std::uint32_t v) { PutLE(out, v); }
inline void PutU64(Bytes* out, std::uint64_t v) { PutLE(out, v); }
inline void PutBytes(Bytes* out, ByteView v) { out->insert(out->end(), v.begin(), v.end()); }

// Consumes a view front to back. Every Read* returns false, consuming
// nothing, when fewer bytes remain than it needs.
class ByteReader {
 public:
  explicit ByteReader(ByteView data) : data_(data) {}

  std::size_t remaining() const { return data_.size() - pos_; }
  std::size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }

  bool ReadU8(std::uint8_t* v) { return ReadLE(v); }
  bool ReadU16(std::uint16_t* v) { return ReadLE(v); }
  bool ReadU32(std::uint32_t* v) { return ReadLE(v); }
  bool ReadU64(std::uint64_t* v) { return ReadLE(v); }

  // Sets *v to the next n bytes, which stay owned by the underlying buffer.
  bool ReadView(std::size_t n, ByteView* v) {
    if (remaining() < n) return false;
    *v = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }

  bool Skip(std::size_t n) {
    if (remaining() < n) return false;
    pos_ += n;
    return true;
  }

 private:
  template <typename UInt>
  bool ReadLE(UInt* v) {
    if (remaining() < sizeof(UInt)) return false;
    *v = LoadLE<UInt>(data_.data() + pos_);
    pos_ += sizeof(UInt);
    return true;
  }

  ByteView data_;
  std::size_t pos_ = 0;
};

}  // namespace lanswarm
