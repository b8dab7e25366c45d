// The event loop: one io_uring per thread, driving listeners, connections
// and timers. Small on purpose (in the spirit of redis' ae.h): Listen,
// Connect, timers, Run/Stop. Connection I/O is in connection.h.
//
// Threading: everything here, creation and destruction included, happens
// on one thread (the ring is single-issuer), except StopFromAnyThread().
//
// Lifetimes: the loop owns every Connection and its handler. A Connection*
// stays valid until its handler's OnClosed() returns; connections are freed
// between loop passes, never inside their own callbacks.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/net/socket_address.h"
#include "common/status.h"
#include "common/timer_queue.h"

namespace lanswarm::net {

class Connection;
class Ring;
struct Listener;
struct FileRead;

// What a connection reports to its owner.
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // The connection is up: just accepted, or an outgoing connect succeeded.
  // The first call a handler gets, except OnClosed for a failed connect.
  virtual void OnConnected(Connection&) {}
  // The next bytes of the stream, in order, except bytes routed to a
  // ReceiveInto() destination. `data` is valid only during the call.
  virtual void OnData(Connection& c, ByteView data) = 0;
  // A queued message has been handed to the kernel whole; for pacing
  // producers by Connection::unsent_bytes().
  virtual void OnSent(Connection&) {}
  // The last call. The socket is closed; `why` is OK after a plain local
  // Close(), otherwise the reason (closed by peer, reset, timed out...).
  virtual void OnClosed(Connection& c, const Status& why) = 0;
};

struct LoopOptions {
  // The time every timer and timeout runs on; null: the steady clock. A
  // test's FakeClock makes timers fire only when it is advanced (RunOnce).
  // Must outlive the loop.
  const Clock* clock = nullptr;
  // Simulated latency: every outgoing message waits this long in the loop
  // before it is sent (the netem qdisc does not exist on our test hosts).
  std::chrono::milliseconds send_latency{0};
  unsigned ring_entries = 1024;
  unsigned recv_buffers = 512;  // provided buffers for multishot recv, a power of two
  unsigned recv_buffer_size = 16 * 1024;
};

class Loop {
 public:
  using TimerId = std::uint64_t;
  // Decides whether to take a new connection: a handler, or null to refuse
  // (the socket is closed at once).
  using AcceptFn = std::function<std::unique_ptr<ConnectionHandler>(const SocketAddress& peer)>;

  static Result<std::unique_ptr<Loop>> Create(const LoopOptions& options = {});
  // Closes every connection and listener and waits for every outstanding
  // completion before freeing anything. Handlers' OnClosed run meanwhile;
  // a Connect or Listen they make then fails at once.
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Runs until Stop(). An error only when the ring itself fails.
  Status Run();
  // One pass: waits up to `max_wait` for completions (less when a timer is
  // due sooner), handles them, runs due timers. For tests that drive the
  // loop step by step under a FakeClock.
  Status RunOnce(Clock::Duration max_wait);
  void Stop() { stop_ = true; }
  // Safe from any thread and from signal handlers (an eventfd write).
  void StopFromAnyThread();

  // One-shot and periodic timers, on the loop's steady clock. Callbacks run
  // on the loop thread; a periodic timer may cancel itself.
  TimerId AddTimer(Clock::Duration delay, std::function<void()> fn);
  TimerId AddPeriodic(Clock::Duration period, std::function<void()> fn);
  bool CancelTimer(TimerId id);

  // Binds, listens and accepts with multishot accept. Returns the bound
  // address (port 0 becomes the port the kernel chose).
  Result<SocketAddress> Listen(const SocketAddress& address, AcceptFn on_accept, int backlog = 1024);
  // Closes every listening socket; open connections stay.
  void StopListening();

  // Starts connecting. The handler then gets OnConnected, or OnClosed with
  // the error (including "timed out"). Data sent before the connection is
  // up waits for it. Never null.
  Connection* Connect(const SocketAddress& to, Clock::Duration timeout, std::unique_ptr<ConnectionHandler> handler);

  // Reads `len` bytes at `offset` of the regular file `fd` into dst,
  // continuing after short reads. `done` gets the bytes read (fewer than
  // len only at end of file) or the error. dst and fd must stay valid until
  // then; the loop's destructor waits for every read in flight.
  using ReadDone = std::function<void(Result<std::size_t>)>;
  void ReadFile(int fd, std::uint8_t* dst, std::size_t len, std::uint64_t offset, ReadDone done);

  std::size_t connection_count() const { return connections_.size(); }
  const LoopOptions& options() const { return options_; }
  const Clock& clock() const { return *clock_; }
  const char* ring_mode() const;

 private:
  friend class Connection;
  explicit Loop(const LoopOptions& options);

  Connection* Adopt(int fd, const SocketAddress& peer, std::unique_ptr<ConnectionHandler> handler, bool connected);
  void ArmAccept(Listener* l);
  void ArmWake();
  void Dispatch(std::uint64_t user_data, int res, unsigned flags);
  void OnAccept(Listener* l, int res, unsigned flags);
  void SubmitRead(FileRead* r);
  void OnFileRead(FileRead* r, int res);
  void RunDueTimers();
  // Frees connections whose close has completed (no operation in flight).
  void ReapClosed(int max_rounds = 16);
  // Waits for completions up to `timeout` (negative: forever) and dispatches them.
  Status Poll(Clock::Duration timeout);

  LoopOptions options_;
  const Clock* clock_;
  std::unique_ptr<Ring> ring_;
  bool stop_ = false;
  bool shutting_down_ = false;  // in ~Loop: no new connections or listeners
  std::atomic<bool> stop_requested_{false};
  int wake_fd_ = -1;
  std::uint64_t wake_buf_ = 0;
  bool wake_armed_ = false;

  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> closing_;  // Close() called; freed once idle
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::uint64_t next_connection_id_ = 1;
  std::size_t file_reads_in_flight_ = 0;

  struct Timer {
    std::function<void()> fn;
    Clock::Duration period{0};  // zero: one-shot
  };
  TimerQueue timer_queue_;
  std::unordered_map<TimerId, Timer> timers_;
  TimerId next_timer_id_ = 1;
};

}  // namespace lanswarm::net
