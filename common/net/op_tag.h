// The io_uring user_data layout shared by loop.cc and connection.cc:
//
//   63                                   3 2   0
//   +-------------------------------------+-----+
//   | pointer to the owner (8-aligned)    | op  |
//   +-------------------------------------+-----+
//
// The owner is a Connection, a Listener or the Loop (kWake). user_data 0 is
// an operation whose completion is ignored (cancels, link timeouts); it
// points at nothing, so it may complete after anything is freed.
#pragma once

#include <cstdint>

namespace lanswarm::net {

enum class Op : std::uint64_t {
  kIgnore = 0,
  kRecv = 1,      // multishot recv into provided buffers
  kBulkRecv = 2,  // MSG_WAITALL recv into the caller's buffer
  kSend = 3,
  kConnect = 4,
  kAccept = 5,    // multishot accept; owner is a Listener
  kWake = 6,      // eventfd read; owner is the Loop
  kFileRead = 7,  // read of a regular file; owner is a FileRead
};

constexpr std::uint64_t kOpMask = 7;

inline std::uint64_t Tag(const void* owner, Op op) {
  return reinterpret_cast<std::uint64_t>(owner) | static_cast<std::uint64_t>(op);
}
inline Op OpOf(std::uint64_t user_data) { return static_cast<Op>(user_data & kOpMask); }
template <typename T>
T* OwnerOf(std::uint64_t user_data) {
  return reinterpret_cast<T*>(user_data & ~kOpMask);
}

}  // namespace lanswarm::net
