#include "peer/serve_session.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/aligned_buffer.h"
#include "common/net/connection.h"
#include "common/proto/codec.h"
#include "common/proto/frame_buffer.h"
#include "fileinfo/checksum.h"

namespace lanswarm::peer {

namespace {
// Files a single connection may have open at once.
constexpr std::size_t kMaxSlots = 256;
constexpr auto kErrorLinger = std::chrono::seconds(1);
}  // namespace

struct ServeFrames {
  explicit ServeFrames(std::uint32_t max_payload) : buffer(max_payload) {}
  proto::FrameBuffer buffer;
};

std::shared_ptr<AlignedBuffer> BufferPool::Get(std::size_t size) {
  std::unique_ptr<AlignedBuffer> b;
  for (auto it = idle_.begin(); it != idle_.end(); ++it) {
    if ((*it)->size() == size) {
      b = std::move(*it);
      idle_.erase(it);
      break;
    }
  }
  if (!b) b = std::make_unique<AlignedBuffer>(size);
  std::weak_ptr<BufferPool> pool = weak_from_this();
  return std::shared_ptr<AlignedBuffer>(b.release(), [pool](AlignedBuffer* raw) {
    std::unique_ptr<AlignedBuffer> owned(raw);
    if (auto p = pool.lock(); p && p->idle_.size() < p->keep_) p->idle_.push_back(std::move(owned));
  });
}

FileHandle::~FileHandle() {
  if (fd >= 0) ::close(fd);
}

std::shared_ptr<FileHandle> ServeContext::Open(const SharedFile& f) {
  auto it = handles.find(f.info.id);
  if (it != handles.end()) return it->second;
  int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    spdlog::warn("cannot open {}: {}", f.path, std::strerror(errno));
    return nullptr;
  }
  auto h = std::make_shared<FileHandle>(fd);
  handles.emplace(f.info.id, h);
  return h;
}

void ServeContext::TrackSpread(const SharedFile& f) {
  if (f.downloading || f.state() != proto::FileState::kWhole) return;  // state() is gone when changed
  spread.insert_or_assign(f.info.id, SpreadTracker(f.info.chunk_count()));
}

void ServeContext::BroadcastHave(const FileId& id, std::uint32_t index) {
  for (ServeSession* s : sessions) s->SendHave(id, index);
}

bool ServeContext::AdmitConnection(const net::SocketAddress& from) {
  const Config::Limits& l = config.limits;
  const auto per = per_address.find(from.HostKey());
  const std::uint32_t from_here = per == per_address.end() ? 0 : per->second;
  if (sessions.size() < l.max_connections && from_here < l.max_connections_per_address) return true;
  ++refused_connections;
  const auto now = clock.now();
  if (now - last_refusal_log >= std::chrono::seconds(1)) {
    last_refusal_log = now;
    spdlog::warn("{}: connection refused: {} ({} refused since start)", from.ToString(),
                 sessions.size() >= l.max_connections
                     ? fmt::format("{} connections open, [limits] max_connections", sessions.size())
                     : fmt::format("{} from this address, [limits] max_connections_per_address", from_here),
                 refused_connections);
  }
  return false;
}

void ServeContext::CheckTimeouts() {
  // Checking may close a session, which leaves `sessions` from OnClosed.
  std::vector<ServeSession*> all(sessions.begin(), sessions.end());
  const auto now = clock.now();
  for (ServeSession* s : all) {
    if (sessions.count(s)) s->CheckTimeouts(now);
  }
}

ServeSession::ServeSession(std::shared_ptr<ServeContext> ctx, std::string host_key)
    : ctx_(std::move(ctx)),
      frames_(std::make_unique<ServeFrames>(ctx_->config.limits.max_message_bytes)),
      handshake_(*ctx_->keys, proto::MakeHello(proto::Role::kPeer, ctx_->self)),
      host_key_(std::move(host_key)),
      opened_(ctx_->clock.now()),
      last_received_(opened_) {
  ctx_->sessions.insert(this);
  ++ctx_->per_address[host_key_];
}

ServeSession::~ServeSession() {
  *alive_ = false;
  ctx_->sessions.erase(this);
  if (auto it = ctx_->per_address.find(host_key_); it != ctx_->per_address.end() && --it->second == 0) {
    ctx_->per_address.erase(it);
  }
}

void ServeSession::CheckTimeouts(Clock::TimePoint now) {
  if (conn_ == nullptr || conn_->closing()) return;
  const Config::Limits& l = ctx_->config.limits;
  if (!handshake_.authenticated() && now - opened_ >= l.hello_timeout) {
    return Fail(proto::ErrorCode::kProtocol, fmt::format("no {} within {} s", handshake_.got_hello() ? "AUTH" : "HELLO",
                                                         l.hello_timeout.count()));
  }
  // Idle: it sent nothing, and nothing of ours is queued or being read.
  if (queue_.empty() && !reading_ && now - last_received_ >= l.idle_timeout) {
    spdlog::debug("{}: idle for {} s; closing", conn_->peer().ToString(), l.idle_timeout.count());
    conn_->Close(Status::IOError("idle"));
  }
}

const net::SocketAddress& ServeSession::peer() const { return conn_->peer(); }

void ServeSession::OnConnected(net::Connection& c) { conn_ = &c; }

void ServeSession::OnClosed(net::Connection& c, const Status& why) {
  spdlog::debug("{}: closed: {}", c.peer().ToString(), why.ok() ? "by us" : why.message());
  if (cap_timer_) c.loop().CancelTimer(cap_timer_);
  for (const auto& [id, index] : spread_sent_) {
    if (auto it = ctx_->spread.find(id); it != ctx_->spread.end()) it->second.OnLost(index);
  }
  spread_sent_.clear();
  ctx_->sessions.erase(this);
  conn_ = nullptr;
}

void ServeSession::OnData(net::Connection& c, ByteView data) {
  last_received_ = ctx_->clock.now();
  frames_->buffer.Append(data);
  proto::Message m;
  while (!c.closing()) {
    const proto::Decoded d = frames_->buffer.Next(&m);
    if (d.state == proto::DecodeState::kNeedMore) return;
    if (d.state == proto::DecodeState::kError) return Fail(proto::ErrorCode::kProtocol, d.error);
    Handle(m);
  }
}

void ServeSession::Fail(proto::ErrorCode code, const std::string& reason) {
  spdlog::warn("{}: {}; closing the connection", conn_->peer().ToString(), reason);
  conn_->Send(proto::EncodeFrame(proto::Error{code, reason}));
  conn_->CloseAfterSending(Status::InvalidArgument(reason), kErrorLinger);
}

void ServeSession::Reject(std::uint16_t slot, std::uint32_t index, proto::RejectReason why) {
  conn_->Send(proto::EncodeFrame(proto::Reject{slot, index, why}));
}

void ServeSession::Handle(const proto::Message& m) {
  if (Status s = handshake_.Admit(m); !s.ok()) return Fail(auth::HandshakeErrorCode(s), s.message());
  if (const auto* hello = std::get_if<proto::Hello>(&m)) {
    auto reply = handshake_.OnHello(*hello);
    if (!reply.ok()) return Fail(auth::HandshakeErrorCode(reply.status()), reply.status().message());
    conn_->Send(proto::EncodeFrame(*reply));
  } else if (const auto* a = std::get_if<proto::Auth>(&m)) {
    if (Status s = handshake_.OnAuth(*a); !s.ok()) return Fail(auth::HandshakeErrorCode(s), s.message());
  } else if (const auto* open = std::get_if<proto::Open>(&m)) {
    const SharedFile* f = ctx_->registry.Find(open->file);
    if (f == nullptr || f->changed) return Reject(open->slot, proto::kWholeFile, proto::RejectReason::kUnknownFile);
    if (!slots_.count(open->slot) && slots_.size() >= kMaxSlots) {
      return Fail(proto::ErrorCode::kLimit, fmt::format("more than {} files open on one connection", kMaxSlots));
    }
    slots_[open->slot] = open->file;
    conn_->Send(proto::EncodeFrame(proto::Bitfield{open->slot, f->verified.size(), f->verified.bytes()}));
  } else if (const auto* req = std::get_if<proto::Request>(&m)) {
    OnRequest(*req);
  } else if (const auto* cancel = std::get_if<proto::Cancel>(&m)) {
    std::erase_if(queue_, [&](const Pending& p) { return p.slot == cancel->slot && p.index == cancel->index; });
  } else if (const auto* err = std::get_if<proto::Error>(&m)) {
    conn_->Close(Status::IOError("peer sent ERROR: " + err->reason));
  } else if (std::holds_alternative<proto::Have>(m) || std::holds_alternative<proto::Bitfield>(m)) {
    // A downloader has no reason to send these; harmless, ignored.
  } else {
    Fail(proto::ErrorCode::kProtocol,
         fmt::format("unexpected {} on a serving connection", proto::MessageTypeName(proto::TypeOf(m))));
  }
}

void ServeSession::OnRequest(const proto::Request& r) {
  auto slot = slots_.find(r.slot);
  if (slot == slots_.end()) return Reject(r.slot, r.index, proto::RejectReason::kNotOpen);
  const SharedFile* f = ctx_->registry.Find(slot->second);
  if (f == nullptr || f->changed) return Reject(r.slot, r.index, proto::RejectReason::kChanged);
  if (r.index >= f->info.chunk_count()) return Reject(r.slot, r.index, proto::RejectReason::kOutOfRange);
  if (!f->verified.has(r.index)) return Reject(r.slot, r.index, proto::RejectReason::kMissing);
  if (queue_.size() >= ctx_->config.limits.max_requests_per_connection) {
    return Reject(r.slot, r.index, proto::RejectReason::kBusy);
  }
  queue_.push_back({r.slot, r.index});
  Pump();
}

void ServeSession::Pump() {
  if (conn_ == nullptr || conn_->closing() || reading_ || queue_.empty() || cap_timer_) return;
  const Pending next = queue_.front();
  auto slot = slots_.find(next.slot);
  SharedFile* f = slot == slots_.end() ? nullptr : ctx_->registry.Find(slot->second);
  if (f == nullptr || f->changed) {
    queue_.pop_front();
    Reject(next.slot, next.index, proto::RejectReason::kChanged);
    return Pump();
  }
  // Keep at most about two chunks queued in the socket path: enough to keep
  // the link busy, little enough that CANCEL still has something to cancel.
  if (conn_->unsent_bytes() >= 2 * std::size_t{f->info.chunk_size}) return;
  // The upload cap: wait out any debt before reading more.
  if (const auto wait = ctx_->upload.Debt(); wait.count() > 0) {
    cap_timer_ = conn_->loop().AddTimer(wait, [this] {
      cap_timer_ = 0;
      Pump();
    });
    return;
  }
  if (auto spread = ctx_->spread.find(f->info.id); spread != ctx_->spread.end()) {
    if (!spread->second.ShouldSend(next.index)) {
      queue_.pop_front();
      Reject(next.slot, next.index, proto::RejectReason::kElsewhere);
      return Pump();
    }
    spread->second.OnSent(next.index);
    spread_sent_.emplace_back(f->info.id, next.index);
    if (spread->second.spread()) {
      spdlog::info("{}: every chunk has gone out once; serving second copies from now on", f->path);
      ctx_->spread.erase(spread);
    }
  }
  auto handle = ctx_->Open(*f);
  if (!handle) {
    queue_.pop_front();
    Reject(next.slot, next.index, proto::RejectReason::kChanged);
    return Pump();
  }
  queue_.pop_front();
  const ChunkLayout layout = f->info.layout();
  const std::uint32_t len = layout.length(next.index);
  auto buf = ctx_->buffers->Get(len);
  reading_ = true;
  const FileId id = f->info.id;
  std::weak_ptr<bool> alive = alive_;
  conn_->loop().ReadFile(handle->fd, buf->data(), len, layout.offset(next.index),
                         [this, alive, buf, handle, id, next, len](Result<std::size_t> got) {
                           if (alive.expired()) return;  // the session is gone; drop the chunk
                           reading_ = false;
                           if (conn_ == nullptr || conn_->closing()) return;
                           SharedFile* file = ctx_->registry.Find(id);
                           if (file == nullptr || file->changed) {
                             Reject(next.slot, next.index, proto::RejectReason::kChanged);
                             return Pump();
                           }
                           const bool intact = got.ok() && *got == len &&
                                               ChunkHash(buf->data(), len) == file->info.chunk_hashes[next.index];
                           if (!intact) {
                             Status why = !got.ok() ? got.status()
                                                    : Status::Corruption(fmt::format(
                                                          "{}: chunk {} no longer matches its checksum", file->path,
                                                          next.index));
                             Reject(next.slot, next.index, proto::RejectReason::kChanged);
                             if (ctx_->on_changed) ctx_->on_changed(*file, why);
                             return Pump();
                           }
                           if (spdlog::should_log(spdlog::level::debug)) {
                             // One line per chunk sent: what tests/lan/test_faults.sh counts (a
                             // resumed download must not be sent a chunk it holds already).
                             spdlog::debug("{}: sending chunk {} of {}", conn_->peer().ToString(), next.index,
                                           file->info.name);
                           }
                           conn_->Send(buf, 0, len, proto::EncodeFrame(proto::ChunkHeader{next.slot, next.index, len}));
                           ctx_->upload.Take(len);
                           ctx_->uploaded_bytes += len;
                           file->uploaded_bytes += len;
                           Pump();
                         });
}

void ServeSession::SendHave(const FileId& id, std::uint32_t index) {
  if (conn_ == nullptr || conn_->closing()) return;
  for (const auto& [slot, file] : slots_) {
    if (file == id) conn_->Send(proto::EncodeFrame(proto::Have{slot, index}));
  }
}

}  // namespace lanswarm::peer
