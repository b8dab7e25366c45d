// One thread's io_uring and the provided-buffer ring its multishot receives
// draw from. With loop.cc and connection.cc, the only code that includes
// liburing.
//
// Threading: a Ring is created with IORING_SETUP_SINGLE_ISSUER when the
// kernel allows it, which binds it to the creating thread. Create, use and
// destroy it on one thread.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>

#include "common/aligned_buffer.h"
#include "common/status.h"

namespace lanswarm::net {

class Ring {
 public:
  // The buffer group every multishot receive selects from.
  static constexpr std::uint16_t kBufferGroup = 1;

  // REQUIRES: buffer_count is a power of two, 1..32768.
  // Fails with one line naming seccomp and kernel.io_uring_disabled when the
  // kernel refuses io_uring (EPERM, ENOSYS).
  static Result<std::unique_ptr<Ring>> Create(unsigned entries, unsigned buffer_count, unsigned buffer_size);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  io_uring* get() { return &ring_; }
  // A free submission slot; when the queue is full, submits first to make
  // room. Never null.
  io_uring_sqe* GetSqe();

  std::uint8_t* Buffer(std::uint16_t id) { return buffers_.data() + std::size_t{id} * buffer_size_; }
  unsigned buffer_size() const { return buffer_size_; }
  // Hands a consumed provided buffer back to the kernel.
  void RecycleBuffer(std::uint16_t id);

  // Which setup flags the kernel accepted, for logs and tests.
  const char* mode() const { return mode_; }

 private:
  Ring() = default;

  io_uring ring_{};
  bool ring_ready_ = false;
  io_uring_buf_ring* buf_ring_ = nullptr;
  std::size_t buf_ring_bytes_ = 0;
  AlignedBuffer buffers_;
  unsigned buffer_count_ = 0;
  unsigned buffer_size_ = 0;
  const char* mode_ = "";
};

// The error for io_uring being unavailable, naming both usual causes.
Status IoUringUnavailable(int err);

}  // namespace lanswarm::net
