#include "common/net/connection.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/net/op_tag.h"
#include "common/net/ring.h"

namespace lanswarm::net {

namespace {
// Small messages are appended to a queued buffer that is not yet being
// sent, so a burst of control frames goes out in one send.
constexpr std::size_t kCoalesceMax = 64 * 1024;

// Results that mean "nothing happened, try again", not an error.
bool Transient(int res) { return res == -EAGAIN || res == -EINTR; }
}  // namespace

Connection::Connection(Loop* loop, Ring* ring, int fd, std::uint64_t id, const SocketAddress& peer,
                       std::unique_ptr<ConnectionHandler> handler, bool connected)
    : loop_(loop), ring_(ring), fd_(fd), id_(id), peer_(peer), handler_(std::move(handler)), connected_(connected),
      send_msg_(new msghdr), send_iov_(new iovec[2]) {}

Connection::~Connection() {
  assert(idle());
  if (fd_ >= 0) ::close(fd_);
  delete send_msg_;
  delete[] send_iov_;
}

// ---- sending ----

void Connection::Send(Bytes data) {
  if (closing_ || data.empty()) return;
  OutItem item;
  item.bytes = std::move(data);
  Enqueue(std::move(item));
}

void Connection::Send(std::shared_ptr<const AlignedBuffer> buffer, std::size_t offset, std::size_t len, Bytes head) {
  if (closing_ || len == 0) return;
  assert(offset + len <= buffer->size());
  OutItem item;
  item.bytes = std::move(head);
  item.shared = std::move(buffer);
  item.offset = offset;
  item.len = len;
  Enqueue(std::move(item));
}

void Connection::Enqueue(OutItem item) {
  unsent_bytes_ += item.size();
  unsent_copied_ += item.bytes.size();
  const auto latency = loop_->options().send_latency;
  if (latency.count() > 0) {
    delayed_.emplace_back(loop_->clock().now() + latency, std::move(item));
    if (latency_timer_ == 0) {
      latency_timer_ = loop_->AddTimer(latency, [this] {
        latency_timer_ = 0;
        ReleaseDelayed();
      });
    }
    return;
  }
  Append(std::move(item));
  MaybeSend();
}

// Small messages queued together go out in one send (HAVEs to many peers,
// released together after the simulated latency, would each be a segment).
void Connection::Append(OutItem item) {
  // The back item can grow only while no send points into it.
  const bool back_idle = !queue_.empty() && !(send_inflight_ && queue_.size() == 1);
  if (back_idle && !item.shared && !queue_.back().shared &&
      queue_.back().bytes.size() + item.bytes.size() <= kCoalesceMax) {
    Bytes& back = queue_.back().bytes;
    back.insert(back.end(), item.bytes.begin(), item.bytes.end());
  } else {
    queue_.push_back(std::move(item));
  }
}

void Connection::ReleaseDelayed() {
  const auto now = loop_->clock().now();
  while (!delayed_.empty() && delayed_.front().first <= now) {
    Append(std::move(delayed_.front().second));
    delayed_.pop_front();
  }
  if (!delayed_.empty()) {
    latency_timer_ = loop_->AddTimer(delayed_.front().first - now, [this] {
      latency_timer_ = 0;
      ReleaseDelayed();
    });
  }
  MaybeSend();
}

void Connection::MaybeSend() {
  if (closing_ || !connected_ || send_inflight_ || queue_.empty()) return;
  const OutItem& item = queue_.front();
  // Up to two vectors: what is left of the owned bytes, then of the slice.
  int n = 0;
  if (item.sent < item.bytes.size()) {
    send_iov_[n++] = {const_cast<std::uint8_t*>(item.bytes.data()) + item.sent, item.bytes.size() - item.sent};
  }
  if (item.shared) {
    const std::size_t skip = item.sent > item.bytes.size() ? item.sent - item.bytes.size() : 0;
    send_iov_[n++] = {const_cast<std::uint8_t*>(item.shared->data()) + item.offset + skip, item.len - skip};
  }
  *send_msg_ = {};
  send_msg_->msg_iov = send_iov_;
  send_msg_->msg_iovlen = static_cast<std::size_t>(n);
  io_uring_sqe* sqe = ring_->GetSqe();
  io_uring_prep_sendmsg(sqe, fd_, send_msg_, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, Tag(this, Op::kSend));
  send_inflight_ = true;
  ++ops_in_flight_;
}

void Connection::OnSend(int res) {
  send_inflight_ = false;
  --ops_in_flight_;
  if (closing_) return;
  if (Transient(res)) return MaybeSend();
  if (res < 0) {
    Close(Status::FromErrno(fmt::format("send to {}", peer_.ToString()), -res));
    return;
  }
  OutItem& item = queue_.front();
  const std::size_t copied_before = std::min(item.sent, item.bytes.size());
  item.sent += static_cast<std::size_t>(res);
  unsent_bytes_ -= static_cast<std::size_t>(res);
  sent_bytes_ += static_cast<std::uint64_t>(res);
  unsent_copied_ -= std::min(item.sent, item.bytes.size()) - copied_before;
  if (item.sent < item.size()) {
    MaybeSend();  // a short send: resume where it stopped
    return;
  }
  queue_.pop_front();
  if (close_after_send_ && queue_.empty() && delayed_.empty()) {
    Close(close_reason_);
    return;
  }
  MaybeSend();
  if (!close_after_send_) handler_->OnSent(*this);
}

// ---- receiving ----

void Connection::ArmMultishot() {
  io_uring_sqe* sqe = ring_->GetSqe();
  io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = Ring::kBufferGroup;
  io_uring_sqe_set_data64(sqe, Tag(this, Op::kRecv));
  recv_armed_ = true;
  ++ops_in_flight_;
}

void Connection::StartBulkRecv() {
  io_uring_sqe* sqe = ring_->GetSqe();
  io_uring_prep_recv(sqe, fd_, bulk_.dst + bulk_.got, bulk_.len - bulk_.got, MSG_WAITALL);
  io_uring_sqe_set_data64(sqe, Tag(this, Op::kBulkRecv));
  bulk_inflight_ = true;
  ++ops_in_flight_;
}

// Keeps exactly one receive in flight: the bulk one while a ReceiveInto is
// pending, the multishot one otherwise.
void Connection::ContinueReceiving() {
  if (closing_ || !connected_ || recv_armed_ || bulk_inflight_) return;
  if (bulk_.active) {
    StartBulkRecv();
  } else if (!paused_) {
    ArmMultishot();
  }
}

void Connection::CancelMultishot() {
  if (!recv_armed_ || cancel_pending_) return;
  io_uring_sqe* sqe = ring_->GetSqe();
  io_uring_prep_cancel64(sqe, Tag(this, Op::kRecv), 0);
  io_uring_sqe_set_data64(sqe, Tag(nullptr, Op::kIgnore));
  cancel_pending_ = true;
}

void Connection::PauseReceiving() {
  if (paused_ || closing_) return;
  paused_ = true;
  CancelMultishot();
}

void Connection::ResumeReceiving() {
  if (!paused_) return;
  paused_ = false;
  ContinueReceiving();
}

void Connection::ReceiveInto(std::uint8_t* dst, std::size_t len, Done done) {
  assert(!bulk_.active && len > 0);
  bulk_ = Bulk{dst, len, 0, std::move(done), true};
  if (closing_) return;  // Finalize reports the close to `done`
  if (recv_armed_) {
    // Bytes may still arrive through the multishot recv until it ends;
    // Deliver routes them to dst. Its last completion starts the bulk recv.
    CancelMultishot();
    return;
  }
  ContinueReceiving();
}

void Connection::Deliver(ByteView data) {
  while (!data.empty() && !closing_) {
    if (bulk_.active) {
      const std::size_t n = std::min(data.size(), bulk_.len - bulk_.got);
      std::memcpy(bulk_.dst + bulk_.got, data.data(), n);
      bulk_.got += n;
      data = data.subspan(n);
      if (bulk_.got == bulk_.len) FinishBulk(Status::Ok());
    } else {
      if (!close_after_send_) handler_->OnData(*this, data);
      return;
    }
  }
}

void Connection::FinishBulk(const Status& s) {
  Done done = std::move(bulk_.done);
  bulk_ = Bulk{};
  if (done) done(s);
}

void Connection::OnRecv(int res, unsigned flags) {
  const bool more = flags & IORING_CQE_F_MORE;
  if (!more) {
    recv_armed_ = false;
    cancel_pending_ = false;
    --ops_in_flight_;
  }
  if (res > 0) {
    assert(flags & IORING_CQE_F_BUFFER);
    const auto bid = static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    if (!closing_) Deliver(ByteView(ring_->Buffer(bid), static_cast<std::size_t>(res)));
    ring_->RecycleBuffer(bid);
  }
  if (more || closing_) return;
  if (res == 0) {
    Close(Status::IOError(fmt::format("{}: connection closed by peer", peer_.ToString())));
    return;
  }
  // ENOBUFS: every provided buffer was in use; they are recycled as each
  // completion is handled, so re-arming is safe. ECANCELED: our own cancel
  // before a bulk receive.
  if (res < 0 && res != -ENOBUFS && res != -ECANCELED && !Transient(res)) {
    Close(Status::FromErrno(fmt::format("recv from {}", peer_.ToString()), -res));
    return;
  }
  ContinueReceiving();
}

void Connection::OnBulkRecv(int res) {
  bulk_inflight_ = false;
  --ops_in_flight_;
  if (closing_) return;
  if (Transient(res)) return ContinueReceiving();
  if (res <= 0) {
    Close(res == 0 ? Status::IOError(fmt::format("{}: connection closed by peer with {} of {} bytes received",
                                                 peer_.ToString(), bulk_.got, bulk_.len))
                   : Status::FromErrno(fmt::format("recv from {}", peer_.ToString()), -res));
    return;
  }
  bulk_.got += static_cast<std::size_t>(res);
  if (bulk_.got == bulk_.len) FinishBulk(Status::Ok());
  ContinueReceiving();  // the rest of a short recv, the next bulk, or multishot
}

// ---- connecting ----

void Connection::SubmitConnect(Clock::Duration timeout) {
  connect_timeout_duration_ = timeout;
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  connect_timeout_ = std::make_unique<__kernel_timespec>();
  connect_timeout_->tv_sec = ns / 1000000000;
  connect_timeout_->tv_nsec = ns % 1000000000;
  io_uring_sqe* sqe = ring_->GetSqe();
  io_uring_prep_connect(sqe, fd_, peer_.sockaddr_ptr(), peer_.length());
  io_uring_sqe_set_data64(sqe, Tag(this, Op::kConnect));
  sqe->flags |= IOSQE_IO_LINK;
  ++ops_in_flight_;
  io_uring_sqe* timeout_sqe = ring_->GetSqe();
  io_uring_prep_link_timeout(timeout_sqe, connect_timeout_.get(), 0);
  io_uring_sqe_set_data64(timeout_sqe, Tag(nullptr, Op::kIgnore));
}

void Connection::OnConnect(int res) {
  --ops_in_flight_;
  if (closing_) return;
  if (res < 0) {
    const std::string to = fmt::format("connect to {}", peer_.ToString());
    Close(res == -ECANCELED
              ? Status::IOError(fmt::format("{}: timed out after {} ms", to,
                                            std::chrono::duration_cast<std::chrono::milliseconds>(
                                                connect_timeout_duration_)
                                                .count()))
              : Status::FromErrno(to, -res));
    return;
  }
  connected_ = true;
  handler_->OnConnected(*this);
  ContinueReceiving();
  MaybeSend();
}

// ---- closing ----

void Connection::Close(Status why) {
  if (closing_) return;
  closing_ = true;
  close_reason_ = std::move(why);
  if (!idle()) {
    io_uring_sqe* sqe = ring_->GetSqe();
    io_uring_prep_cancel_fd(sqe, fd_, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, Tag(nullptr, Op::kIgnore));
  }
  loop_->closing_.push_back(this);
}

void Connection::CloseAfterSending(Status why, Clock::Duration linger) {
  if (closing_ || close_after_send_) return;
  if (unsent_bytes_ == 0) {
    Close(std::move(why));
    return;
  }
  close_after_send_ = true;
  close_reason_ = std::move(why);
  linger_timer_ = loop_->AddTimer(linger, [this] {
    linger_timer_ = 0;
    Close(Status::IOError(fmt::format("{}: gave up sending before closing", peer_.ToString())));
  });
}

void Connection::Finalize() {
  assert(closing_ && idle() && !finalized_);
  finalized_ = true;
  if (latency_timer_) loop_->CancelTimer(latency_timer_);
  if (linger_timer_) loop_->CancelTimer(linger_timer_);
  ::close(fd_);
  fd_ = -1;
  const Status why = close_reason_.ok() && bulk_.active ? Status::IOError("connection closed") : close_reason_;
  if (bulk_.active) FinishBulk(why);
  handler_->OnClosed(*this, close_reason_);
}

}  // namespace lanswarm::net
