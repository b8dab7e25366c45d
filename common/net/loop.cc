#include "common/net/loop.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/net/connection.h"
#include "common/net/op_tag.h"
#include "common/net/ring.h"

namespace lanswarm::net {

struct Listener {
  int fd = -1;
  SocketAddress address;
  Loop::AcceptFn on_accept;
  bool armed = false;    // a multishot accept is in flight
  bool closing = false;
  Loop::TimerId retry_timer = 0;
};

struct FileRead {
  int fd;
  std::uint8_t* dst;
  std::size_t len, got = 0;
  std::uint64_t offset;
  Loop::ReadDone done;
};

namespace {

// How long accept waits after running out of file descriptors.
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);
constexpr unsigned kCqeBatch = 256;

void SetNoDelay(int fd) {  // a no-op error on Unix sockets, harmless
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

Result<std::unique_ptr<Loop>> Loop::Create(const LoopOptions& options) {
  std::unique_ptr<Loop> loop(new Loop(options));
  auto ring = Ring::Create(options.ring_entries, options.recv_buffers, options.recv_buffer_size);
  if (!ring.ok()) return ring.status();
  loop->ring_ = std::move(*ring);
  loop->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (loop->wake_fd_ < 0) return Status::FromErrno("eventfd", errno);
  return loop;
}

Loop::Loop(const LoopOptions& options)
    : options_(options), clock_(options.clock != nullptr ? options.clock : &SteadyClock::Instance()) {}

const char* Loop::ring_mode() const { return ring_->mode(); }

Loop::~Loop() {
  // Close everything, then wait until every operation has completed: only
  // then may the memory those operations point into be freed.
  shutting_down_ = true;
  StopListening();
  for (auto& [ptr, conn] : connections_) conn->Close(Status::Unsupported("event loop shutting down"));
  if (wake_armed_) {
    io_uring_sqe* sqe = ring_->GetSqe();
    io_uring_prep_cancel64(sqe, Tag(this, Op::kWake), 0);
    io_uring_sqe_set_data64(sqe, Tag(nullptr, Op::kIgnore));
  }
  auto busy = [this] {
    if (wake_armed_ || file_reads_in_flight_ > 0) return true;
    for (const auto& l : listeners_) {
      if (l->armed) return true;
    }
    for (const auto& [ptr, conn] : connections_) {
      if (!conn->idle()) return true;
    }
    return false;
  };
  // Bounded, so a handler that reconnects from every OnClosed cannot keep
  // the loop alive; connections left after that are freed without OnClosed.
  constexpr int kShutdownRounds = 1000;
  const auto shutdown_began = clock().now();
  auto last_report = shutdown_began;
  for (int round = 0; busy() && round < kShutdownRounds; ++round) {
    if (!Poll(std::chrono::seconds(1)).ok()) break;
    ReapClosed();
    // Completions normally arrive within milliseconds; say what is missing
    // if they take seconds.
    const auto now = clock().now();
    if (now - shutdown_began >= std::chrono::seconds(2) && now - last_report >= std::chrono::seconds(5)) {
      last_report = now;
      int recv = 0, bulk = 0, send = 0, other = 0, listening = 0;
      for (const auto& [ptr, conn] : connections_) {
        recv += conn->recv_armed_;
        bulk += conn->bulk_inflight_;
        send += conn->send_inflight_;
        other += !conn->idle() && !conn->recv_armed_ && !conn->bulk_inflight_ && !conn->send_inflight_;
      }
      for (const auto& l : listeners_) listening += l->armed;
      spdlog::warn("event loop shutdown: still waiting for {} receives, {} bulk receives, {} sends, {} other "
                   "operations, {} accepts{}",
                   recv, bulk, send, other, listening, wake_armed_ ? ", the wake-up read" : "");
    }
  }
  ReapClosed(kShutdownRounds);
  if (!closing_.empty()) {
    spdlog::warn("event loop shutdown: {} connections kept reconnecting; dropped", closing_.size());
  }
  if (!busy()) listeners_.clear();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  // A connection still busy here means the ring failed; leak it rather than
  // free memory the kernel may still write to.
  for (auto& [ptr, conn] : connections_) {
    if (!conn->idle()) (void)conn.release();
  }
}

void Loop::StopFromAnyThread() {
  stop_requested_.store(true, std::memory_order_release);
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void Loop::ArmWake() {
  io_uring_sqe* sqe = ring_->GetSqe();
  io_uring_prep_read(sqe, wake_fd_, &wake_buf_, sizeof wake_buf_, 0);
  io_uring_sqe_set_data64(sqe, Tag(this, Op::kWake));
  wake_armed_ = true;
}

Status Loop::Run() {
  stop_ = false;
  if (!wake_armed_) ArmWake();
  while (!stop_) {
    if (stop_requested_.exchange(false, std::memory_order_acq_rel)) break;
    Clock::Duration wait(-1);
    if (auto next = timer_queue_.NextDeadline()) wait = std::max(Clock::Duration::zero(), *next - clock().now());
    LANSWARM_RETURN_IF_ERROR(Poll(wait));
    RunDueTimers();
    ReapClosed();
  }
  return Status::Ok();
}

Status Loop::RunOnce(Clock::Duration max_wait) {
  if (!wake_armed_) ArmWake();
  Clock::Duration wait = max_wait;
  if (auto next = timer_queue_.NextDeadline()) wait = std::clamp(*next - clock().now(), Clock::Duration::zero(), max_wait);
  LANSWARM_RETURN_IF_ERROR(Poll(wait));
  RunDueTimers();
  ReapClosed();
  return Status::Ok();
}

Status Loop::Poll(Clock::Duration timeout) {
  io_uring* ring = ring_->get();
  io_uring_cqe* cqe = nullptr;
  int rc;
  if (timeout.count() < 0) {
    rc = io_uring_submit_and_wait_timeout(ring, &cqe, 1, nullptr, nullptr);
  } else {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
    __kernel_timespec ts{ns / 1000000000, ns % 1000000000};
    rc = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, nullptr);
  }
  if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) {
    return Status::FromErrno("io_uring_submit_and_wait", -rc);
  }
  // Copy completions out before dispatching: handlers submit new work and
  // may close connections, and the ring's queue must not be read meanwhile.
  struct Completion {
    std::uint64_t user_data;
    int res;
    unsigned flags;
  };
  Completion batch[kCqeBatch];
  for (;;) {
    io_uring_cqe* cqes[kCqeBatch];
    const unsigned n = io_uring_peek_batch_cqe(ring, cqes, kCqeBatch);
    if (n == 0) break;
    for (unsigned i = 0; i < n; ++i) batch[i] = {cqes[i]->user_data, cqes[i]->res, cqes[i]->flags};
    io_uring_cq_advance(ring, n);
    for (unsigned i = 0; i < n; ++i) Dispatch(batch[i].user_data, batch[i].res, batch[i].flags);
  }
  return Status::Ok();
}

void Loop::Dispatch(std::uint64_t user_data, int res, unsigned flags) {
  switch (OpOf(user_data)) {
    case Op::kIgnore: return;
    case Op::kRecv: OwnerOf<Connection>(user_data)->OnRecv(res, flags); return;
    case Op::kBulkRecv: OwnerOf<Connection>(user_data)->OnBulkRecv(res); return;
    case Op::kSend: OwnerOf<Connection>(user_data)->OnSend(res); return;
    case Op::kConnect: OwnerOf<Connection>(user_data)->OnConnect(res); return;
    case Op::kAccept: OnAccept(OwnerOf<Listener>(user_data), res, flags); return;
    case Op::kFileRead: OnFileRead(OwnerOf<FileRead>(user_data), res); return;
    case Op::kWake:
      wake_armed_ = false;
      if (stop_requested_.exchange(false, std::memory_order_acq_rel)) stop_ = true;
      // Not while shutting down: the destructor cancelled the read it knew
      // of, and a new one would wait forever for a wake-up nobody sends.
      if (res != -ECANCELED && !shutting_down_) ArmWake();
      return;
  }
}

// ---- timers ----

Loop::TimerId Loop::AddTimer(Clock::Duration delay, std::function<void()> fn) {
  const TimerId id = next_timer_id_++;
  timers_.emplace(id, Timer{std::move(fn), Clock::Duration::zero()});
  timer_queue_.Schedule(id, clock().now() + delay);
  return id;
}

Loop::TimerId Loop::AddPeriodic(Clock::Duration period, std::function<void()> fn) {
  assert(period.count() > 0);
  const TimerId id = next_timer_id_++;
  timers_.emplace(id, Timer{std::move(fn), period});
  timer_queue_.Schedule(id, clock().now() + period);
  return id;
}

bool Loop::CancelTimer(TimerId id) {
  timer_queue_.Cancel(id);
  return timers_.erase(id) != 0;
}

void Loop::RunDueTimers() {
  const auto now = clock().now();
  while (auto id = timer_queue_.PopDue(now)) {
    auto it = timers_.find(*id);
    if (it == timers_.end()) continue;
    // Reschedule (or forget) before calling, so the callback may cancel its
    // own timer or add new ones.
    std::function<void()> fn;
    if (it->second.period.count() > 0) {
      fn = it->second.fn;
      timer_queue_.Schedule(*id, now + it->second.period);
    } else {
      fn = std::move(it->second.fn);
      timers_.erase(it);
    }
    fn();
  }
}

// ---- file reads ----

void Loop::ReadFile(int fd, std::uint8_t* dst, std::size_t len, std::uint64_t offset, ReadDone done) {
  auto* r = new FileRead{fd, dst, len, 0, offset, std::move(done)};
  ++file_reads_in_flight_;
  SubmitRead(r);
}

void Loop::SubmitRead(FileRead* r) {
  io_uring_sqe* sqe = ring_->GetSqe();
  io_uring_prep_read(sqe, r->fd, r->dst + r->got, static_cast<unsigned>(r->len - r->got), r->offset + r->got);
  io_uring_sqe_set_data64(sqe, Tag(r, Op::kFileRead));
}

void Loop::OnFileRead(FileRead* r, int res) {
  if (res == -EINTR || res == -EAGAIN) return SubmitRead(r);
  if (res > 0) {
    r->got += static_cast<std::size_t>(res);
    if (r->got < r->len) return SubmitRead(r);  // a short read: continue
  }
  std::unique_ptr<FileRead> owned(r);
  --file_reads_in_flight_;
  if (res < 0) {
    owned->done(Status::FromErrno("read", -res));
  } else {
    owned->done(owned->got);  // res == 0 is end of file: fewer bytes
  }
}

// ---- listening ----

Result<SocketAddress> Loop::Listen(const SocketAddress& address, AcceptFn on_accept, int backlog) {
  if (shutting_down_) return Status::Unsupported("event loop shutting down");
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno("socket", errno);
  int one = 1;
  if (address.family() != AF_UNIX) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, address.sockaddr_ptr(), address.length()) != 0) {
    Status s = Status::FromErrno(fmt::format("bind {}", address.ToString()), errno);
    ::close(fd);
    return s;
  }
  if (::listen(fd, backlog) != 0) {
    Status s = Status::FromErrno(fmt::format("listen on {}", address.ToString()), errno);
    ::close(fd);
    return s;
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  auto l = std::make_unique<Listener>();
  l->fd = fd;
  l->address = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&bound), len);
  l->on_accept = std::move(on_accept);
  ArmAccept(l.get());
  listeners_.push_back(std::move(l));
  return listeners_.back()->address;
}

void Loop::ArmAccept(Listener* l) {
  io_uring_sqe* sqe = ring_->GetSqe();
  io_uring_prep_multishot_accept(sqe, l->fd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, Tag(l, Op::kAccept));
  l->armed = true;
}

void Loop::StopListening() {
  for (auto& l : listeners_) {
    if (l->closing) continue;
    l->closing = true;
    if (l->retry_timer) CancelTimer(l->retry_timer);
    if (l->armed) {
      io_uring_sqe* sqe = ring_->GetSqe();
      io_uring_prep_cancel64(sqe, Tag(l.get(), Op::kAccept), 0);
      io_uring_sqe_set_data64(sqe, Tag(nullptr, Op::kIgnore));
    }
  }
  // Listener structs are freed by ReapClosed once their accept has ended.
}

void Loop::OnAccept(Listener* l, int res, unsigned flags) {
  if (!(flags & IORING_CQE_F_MORE)) l->armed = false;
  if (res >= 0) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    ::getpeername(res, reinterpret_cast<sockaddr*>(&peer), &len);
    const SocketAddress addr = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&peer), len);
    std::unique_ptr<ConnectionHandler> handler = l->closing ? nullptr : l->on_accept(addr);
    if (handler) {
      SetNoDelay(res);
      Adopt(res, addr, std::move(handler), true);
    } else {
      ::close(res);
    }
  }
  if (l->armed || l->closing) return;
  if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
    // Out of descriptors or memory: retrying at once would spin.
    spdlog::warn("accept on {}: {}; retrying in {} ms", l->address.ToString(), std::strerror(-res),
                 kAcceptRetry.count());
    l->retry_timer = AddTimer(kAcceptRetry, [this, l] {
      l->retry_timer = 0;
      if (!l->closing && !l->armed) ArmAccept(l);
    });
    return;
  }
  ArmAccept(l);  // the kernel ended the multishot accept: re-arm it
}

// ---- connections ----

Connection* Loop::Adopt(int fd, const SocketAddress& peer, std::unique_ptr<ConnectionHandler> handler,
                        bool connected) {
  auto conn = std::unique_ptr<Connection>(
      new Connection(this, ring_.get(), fd, next_connection_id_++, peer, std::move(handler), connected));
  Connection* c = conn.get();
  connections_.emplace(c, std::move(conn));
  if (connected) {
    c->handler().OnConnected(*c);
    c->ContinueReceiving();
  }
  return c;
}

Connection* Loop::Connect(const SocketAddress& to, Clock::Duration timeout,
                          std::unique_ptr<ConnectionHandler> handler) {
  // Blocking sockets throughout: io_uring makes its own non-blocking
  // attempts, and an operation it hands to a worker thread must be allowed
  // to block (on an O_NONBLOCK socket a worker's connect returns EINPROGRESS).
  int fd = shutting_down_ ? -1 : ::socket(to.family() == 0 ? AF_INET : to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    // Still a Connection, so the handler learns of the failure the usual
    // way, from OnClosed; a placeholder descriptor stands in for the socket.
    const Status why = shutting_down_ ? Status::Unsupported("event loop shutting down")
                                      : Status::FromErrno("socket", errno);
    Connection* c = Adopt(::eventfd(0, EFD_CLOEXEC), to, std::move(handler), false);
    c->Close(why);
    return c;
  }
  SetNoDelay(fd);
  Connection* c = Adopt(fd, to, std::move(handler), false);
  c->SubmitConnect(timeout);
  return c;
}

void Loop::ReapClosed(int max_rounds) {
  // Finalize runs handlers that may close (or open and close) others, so
  // repeat while that makes progress, at most max_rounds times.
  for (int round = 0; round < max_rounds && !closing_.empty(); ++round) {
    std::vector<Connection*> pending;
    pending.swap(closing_);
    bool progress = false;
    for (Connection* c : pending) {
      if (!c->idle()) {
        closing_.push_back(c);  // completions still due: wait for them
        continue;
      }
      c->Finalize();
      connections_.erase(c);
      progress = true;
    }
    if (!progress) break;
  }
  listeners_.erase(std::remove_if(listeners_.begin(), listeners_.end(),
                                  [](const std::unique_ptr<Listener>& l) {
                                    if (!l->closing || l->armed) return false;
                                    ::close(l->fd);
                                    return true;
                                  }),
                   listeners_.end());
}

}  // namespace lanswarm::net
