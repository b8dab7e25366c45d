// One TCP connection on a Loop: an ordered byte stream in both directions.
//
// Receiving: bytes arrive through a multishot recv from the loop's provided
// buffers and go to the handler's OnData. For bulk data (a chunk), the
// caller asks for the next N bytes to land in its own buffer instead
// (ReceiveInto): the multishot recv is cancelled, and one MSG_WAITALL recv
// fills the buffer without a copy through the frame buffer.
//
// Sending: Send() queues; one send is in flight at a time and short sends
// resume where they stopped. With simulated latency, each message waits in
// the loop before it is queued.
//
// At most one send and one receive are in flight per socket. Close()
// cancels them; the socket is closed and the handler told only once every
// completion has arrived, so no operation can touch freed memory.
#pragma once

#include <deque>
#include <functional>
#include <memory>

#include "common/aligned_buffer.h"
#include "common/bytes.h"
#include "common/net/loop.h"

struct __kernel_timespec;  // liburing's; kept out of this header

namespace lanswarm::net {

class Connection {
 public:
  using Done = std::function<void(const Status&)>;

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Queues bytes for sending, in order. Ignored once closing.
  void Send(Bytes data);
  // Queues `len` bytes of a shared buffer (kept alive until sent) without
  // copying, preceded by `head` (a CHUNK header) in the same sendmsg.
  void Send(std::shared_ptr<const AlignedBuffer> buffer, std::size_t offset, std::size_t len, Bytes head = {});

  // The next `len` bytes of the stream, not yet passed to OnData, go to
  // dst. `done` runs once with OK when all have arrived, or with the reason
  // the connection closed first. dst must stay valid until then.
  // REQUIRES: no other ReceiveInto pending; len > 0.
  void ReceiveInto(std::uint8_t* dst, std::size_t len, Done done);

  // Starts closing (idempotent). OnClosed follows, with `why`.
  void Close(Status why = Status::Ok());
  // Sends what is queued, then closes; input is discarded meanwhile. For
  // ERROR replies before hanging up. Gives up after `linger`.
  void CloseAfterSending(Status why, Clock::Duration linger = std::chrono::seconds(5));

  // True once Close or CloseAfterSending was called: handlers stop reading
  // what is buffered and send nothing more.
  bool closing() const { return closing_ || close_after_send_; }
  bool connected() const { return connected_; }
  const SocketAddress& peer() const { return peer_; }
  std::uint64_t id() const { return id_; }
  // Bytes queued (or delayed) and not yet acknowledged by the kernel.
  std::size_t unsent_bytes() const { return unsent_bytes_; }
  // Bytes the kernel has taken since the connection began: with
  // unsent_bytes, when a given queued byte has left.
  std::uint64_t sent_bytes() const { return sent_bytes_; }
  // Of those, the bytes copied into the queue (frames), not slices of
  // shared buffers (chunk data): what replies to a client that never
  // reads would pile up.
  std::size_t unsent_copied_bytes() const { return unsent_copied_; }

  // Back-pressure: stop taking bytes from the socket (the multishot receive
  // is cancelled and not re-armed) until ResumeReceiving. Bytes already on
  // their way may still reach OnData once. No effect on ReceiveInto.
  void PauseReceiving();
  void ResumeReceiving();
  bool receiving_paused() const { return paused_; }
  ConnectionHandler& handler() { return *handler_; }
  Loop& loop() { return *loop_; }

 private:
  friend class Loop;

  // Owned bytes, then optionally a slice of a shared buffer: one sendmsg.
  struct OutItem {
    Bytes bytes;
    std::shared_ptr<const AlignedBuffer> shared;
    std::size_t offset = 0, len = 0, sent = 0;
    std::size_t size() const { return bytes.size() + (shared ? len : 0); }
  };
  struct Bulk {
    std::uint8_t* dst = nullptr;
    std::size_t len = 0, got = 0;
    Done done;
    bool active = false;
  };

  Connection(Loop* loop, Ring* ring, int fd, std::uint64_t id, const SocketAddress& peer,
             std::unique_ptr<ConnectionHandler> handler, bool connected);

  void Enqueue(OutItem item);
  void Append(OutItem item);
  void ReleaseDelayed();
  void MaybeSend();
  void ArmMultishot();
  // Asks the multishot receive to end (its last completion follows).
  void CancelMultishot();
  void StartBulkRecv();
  void ContinueReceiving();
  void Deliver(ByteView data);
  void FinishBulk(const Status& s);
  void SubmitConnect(Clock::Duration timeout);

  // Completion handlers, called by the loop.
  void OnRecv(int res, unsigned flags);
  void OnBulkRecv(int res);
  void OnSend(int res);
  void OnConnect(int res);
  // Closes the socket and tells the handler. REQUIRES: no op in flight.
  void Finalize();
  bool idle() const { return ops_in_flight_ == 0; }

  Loop* loop_;
  Ring* ring_;
  int fd_;
  std::uint64_t id_;
  SocketAddress peer_;
  std::unique_ptr<ConnectionHandler> handler_;

  bool connected_;
  bool closing_ = false;
  bool finalized_ = false;
  bool close_after_send_ = false;
  Status close_reason_;
  int ops_in_flight_ = 0;

  // receive side
  bool recv_armed_ = false;      // a multishot recv is in flight
  bool cancel_pending_ = false;  // ... and we asked to cancel it
  bool bulk_inflight_ = false;   // a MSG_WAITALL recv is in flight
  bool paused_ = false;          // PauseReceiving: no multishot recv is armed
  Bulk bulk_;

  // send side
  std::deque<OutItem> queue_;
  std::deque<std::pair<Clock::TimePoint, OutItem>> delayed_;  // simulated latency
  Loop::TimerId latency_timer_ = 0;
  Loop::TimerId linger_timer_ = 0;
  bool send_inflight_ = false;
  // The in-flight sendmsg's header and vectors: the kernel reads them after
  // submission, and only one send is ever in flight.
  struct msghdr* send_msg_ = nullptr;
  struct iovec* send_iov_ = nullptr;
  std::size_t unsent_bytes_ = 0;
  std::uint64_t sent_bytes_ = 0;
  std::size_t unsent_copied_ = 0;

  // The kernel reads the connect timeout when the SQE is submitted, after
  // SubmitConnect returns, so it lives here.
  std::unique_ptr<__kernel_timespec> connect_timeout_;
  Clock::Duration connect_timeout_duration_{0};
};

}  // namespace lanswarm::net
