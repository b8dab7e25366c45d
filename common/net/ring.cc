#include "common/net/ring.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace lanswarm::net {

Status IoUringUnavailable(int err) {
  return Status::Unsupported(fmt::format(
      "io_uring is not available ({}): a seccomp profile may block it (Docker 25+ does by default; "
      "use the profile in docker/) or the kernel.io_uring_disabled sysctl may be set",
      std::strerror(err)));
}

Result<std::unique_ptr<Ring>> Ring::Create(unsigned entries, unsigned buffer_count, unsigned buffer_size) {
  if (buffer_count == 0 || buffer_count > 32768 || (buffer_count & (buffer_count - 1)) != 0) {
    return Status::InvalidArgument(fmt::format("receive buffer count {} is not a power of two up to 32768",
                                               buffer_count));
  }
  std::unique_ptr<Ring> r(new Ring());

  // Best first: one issuer and task work run only when we wait, which saves
  // interrupts; older kernels reject the flags with EINVAL.
  struct Attempt {
    unsigned flags;
    const char* name;
  };
  static constexpr Attempt kAttempts[] = {
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "single-issuer+defer-taskrun"},
      {IORING_SETUP_COOP_TASKRUN, "coop-taskrun"},
      {0, "plain"},
  };
  int rc = -EINVAL;
  for (const Attempt& a : kAttempts) {
    rc = io_uring_queue_init(entries, &r->ring_, a.flags);
    if (rc == 0) {
      r->mode_ = a.name;
      break;
    }
    if (rc != -EINVAL) break;
  }
  if (rc == -EPERM || rc == -ENOSYS) return IoUringUnavailable(-rc);
  if (rc < 0) return Status::FromErrno("io_uring_queue_init", -rc);
  r->ring_ready_ = true;

  // liburing 2.3 has no io_uring_setup_buf_ring: map the ring ourselves and
  // register it.
  r->buf_ring_bytes_ = std::size_t{buffer_count} * sizeof(io_uring_buf);
  void* mem = ::mmap(nullptr, r->buf_ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) return Status::FromErrno("mmap of the buffer ring", errno);
  r->buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(mem);
  reg.ring_entries = buffer_count;
  reg.bgid = kBufferGroup;
  rc = io_uring_register_buf_ring(&r->ring_, &reg, 0);
  if (rc < 0) return Status::FromErrno("io_uring_register_buf_ring", -rc);

  r->buffer_count_ = buffer_count;
  r->buffer_size_ = buffer_size;
  r->buffers_ = AlignedBuffer(std::size_t{buffer_count} * buffer_size);
  io_uring_buf_ring_init(r->buf_ring_);
  const int mask = io_uring_buf_ring_mask(buffer_count);
  for (unsigned i = 0; i < buffer_count; ++i) {
    io_uring_buf_ring_add(r->buf_ring_, r->Buffer(static_cast<std::uint16_t>(i)), buffer_size,
                          static_cast<unsigned short>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(r->buf_ring_, static_cast<int>(buffer_count));
  return r;
}

Ring::~Ring() {
  if (ring_ready_) io_uring_queue_exit(&ring_);  // also unregisters the buffer ring
  if (buf_ring_ != nullptr) ::munmap(buf_ring_, buf_ring_bytes_);
}

io_uring_sqe* Ring::GetSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void Ring::RecycleBuffer(std::uint16_t id) {
  io_uring_buf_ring_add(buf_ring_, Buffer(id), buffer_size_, id, io_uring_buf_ring_mask(buffer_count_), 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
}

}  // namespace lanswarm::net
