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

ServeSession::ServeSession(std::shared_ptr<ServeContext> ctx)
    : ctx_(std::move(ctx)), frames_(std::make_unique<ServeFrames>()) {
  ctx_->sessions.insert(this);
}

ServeSession::~ServeSession() {
  *alive_ = false;
  ctx_->sessions.erase(this);
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
  if (!got_hello_) {
    const auto* hello = std::get_if<proto::Hello>(&m);
    if (hello == nullptr) {
      return Fail(proto::ErrorCode::kProtocol,
                  fmt::format("expected HELLO first, got {}", proto::MessageTypeName(proto::TypeOf(m))));
    }
    proto::Hello mine;
    mine.peer_id = ctx_->self;
    auto version = proto::NegotiateVersion(mine, *hello);
    if (!version.ok()) return Fail(proto::ErrorCode::kVersion, version.status().message());
    got_hello_ = true;
    conn_->Send(proto::EncodeFrame(mine));
    return;
  }
  if (const auto* open = std::get_if<proto::Open>(&m)) {
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
  if (queue_.size() >= ctx_->config.max_requests_per_connection) {
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
