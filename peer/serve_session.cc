#include "peer/serve_session.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/aligned_buffer.h"
#include "common/proto/codec.h"
#include "fileinfo/chunk_hasher.h"

namespace lanswarm::peer {

namespace {
// Files a single connection may have open at once.
constexpr std::size_t kMaxSlots = 256;
}  // namespace

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

void ServeContext::RunGrants() {
  if (!grants) return;
  for (UploadScheduler::ConnKey key : grants->Grants(clock.now())) {
    auto it = by_id.find(key >> 16);
    if (it != by_id.end()) it->second->SendGrant(static_cast<std::uint16_t>(key & 0xffff));
  }
}

ServeSession::ServeSession(std::shared_ptr<ServeContext> ctx) : ctx_(std::move(ctx)), id_(ctx_->next_session_id++) {
  ctx_->sessions.insert(this);
  ctx_->by_id[id_] = this;
}

ServeSession::~ServeSession() {
  *alive_ = false;
  ctx_->sessions.erase(this);
  ctx_->by_id.erase(id_);
}

void ServeSession::OnClosed(net::Session& s, const Status& why) {
  spdlog::debug("{}: closed: {}", s.peer().ToString(), why.ok() ? "by us" : why.message());
  if (cap_timer_) s.loop().CancelTimer(cap_timer_);
  cap_timer_ = 0;
  for (const auto& [id, index] : spread_sent_) {
    if (auto it = ctx_->spread.find(id); it != ctx_->spread.end()) it->second.OnLost(index);
  }
  spread_sent_.clear();
  ctx_->sessions.erase(this);
  ctx_->by_id.erase(id_);
  session_ = nullptr;
  if (ctx_->grants) {
    for (const auto& [slot, file] : slots_) ctx_->grants->Forget(KeyOf(slot));
    ctx_->RunGrants();
  }
}

void ServeSession::OnSent(net::Session& s) {
  // A granted chunk whose last byte the kernel has taken has left: its slot
  // goes to the next getter in line.
  if (!granted_out_.empty() && ctx_->grants) {
    const std::uint64_t sent = s.sent_bytes();
    const auto done = std::erase_if(granted_out_, [&](const auto& g) {
      if (g.second > sent) return false;
      ctx_->grants->OnSent(KeyOf(g.first));
      return true;
    });
    if (done > 0) ctx_->RunGrants();
  }
  Pump();
}

void ServeSession::SendGrant(std::uint16_t slot) {
  if (session_ == nullptr || session_->closing()) {
    if (ctx_->grants) ctx_->grants->Forget(KeyOf(slot));
    return;
  }
  session_->Send(proto::Grant{slot});
}

void ServeSession::OnInterest(const proto::Interest& i) {
  if (!ctx_->grants || !slots_.count(i.slot)) return;  // not granting, or a file never opened: ignored
  takes_grants_ = true;
  ctx_->grants->SetFavoured(KeyOf(i.slot), (i.flags & proto::kParent) != 0);
  ctx_->grants->SetInterested(KeyOf(i.slot), (i.flags & proto::kInterested) != 0, (i.flags & proto::kPass) != 0);
  ctx_->RunGrants();
}

void ServeSession::Refused(const Pending& p) {
  if (p.granted && ctx_->grants) ctx_->grants->OnRefused(KeyOf(p.slot), ctx_->clock.now());
}

void ServeSession::Reject(std::uint16_t slot, std::uint32_t index, proto::RejectReason why) {
  session_->Send(proto::Reject{slot, index, why});
}

void ServeSession::OnMessage(net::Session& s, const proto::Message& m) {
  if (const auto* open = std::get_if<proto::Open>(&m)) {
    const SharedFile* f = ctx_->registry.Find(open->file);
    if (f == nullptr || f->changed) return Reject(open->slot, proto::kWholeFile, proto::RejectReason::kUnknownFile);
    if (!slots_.count(open->slot) && slots_.size() >= kMaxSlots) {
      return s.Fail(proto::ErrorCode::kLimit, fmt::format("more than {} files open on one connection", kMaxSlots));
    }
    slots_[open->slot] = open->file;
    const std::uint8_t flags = ctx_->grants ? proto::kBitfieldGrants : 0;
    s.Send(proto::Bitfield{open->slot, f->verified.size(), f->verified.bytes(), flags});
  } else if (const auto* req = std::get_if<proto::Request>(&m)) {
    OnRequest(*req);
  } else if (const auto* cancel = std::get_if<proto::Cancel>(&m)) {
    std::erase_if(queue_, [&](const Pending& p) {
      if (p.slot != cancel->slot || p.index != cancel->index) return false;
      if (p.granted && ctx_->grants) {
        ctx_->grants->OnSent(KeyOf(p.slot));  // abandoned: the slot is free
        ctx_->RunGrants();
      }
      return true;
    });
  } else if (const auto* interest = std::get_if<proto::Interest>(&m)) {
    OnInterest(*interest);
  } else if (std::holds_alternative<proto::Have>(m) || std::holds_alternative<proto::Bitfield>(m)) {
    // A downloader has no reason to send these; harmless, ignored.
  } else {
    s.Fail(proto::ErrorCode::kProtocol,
           fmt::format("unexpected {} on a serving connection", proto::MessageTypeName(proto::TypeOf(m))));
  }
}

void ServeSession::OnRequest(const proto::Request& r) {
  auto slot = slots_.find(r.slot);
  if (slot == slots_.end()) return Reject(r.slot, r.index, proto::RejectReason::kNotOpen);
  // A getter that takes grants asks within them; one that never said its
  // interest (an older or simpler client) is served as it asks.
  const bool granted = ctx_->grants && ctx_->grants->OnRequest(KeyOf(r.slot));
  if (takes_grants_ && !granted) return Reject(r.slot, r.index, proto::RejectReason::kBusy);
  const Pending p{r.slot, r.index, granted};
  const SharedFile* f = ctx_->registry.Find(slot->second);
  proto::RejectReason why{};
  if (f == nullptr || f->changed) {
    why = proto::RejectReason::kChanged;
  } else if (r.index >= f->info.chunk_count()) {
    why = proto::RejectReason::kOutOfRange;
  } else if (!f->verified.has(r.index)) {
    why = proto::RejectReason::kMissing;
  } else if (queue_.size() >= ctx_->config.limits.max_requests_per_connection) {
    why = proto::RejectReason::kBusy;
  } else {
    queue_.push_back(p);
    return Pump();
  }
  if (why == proto::RejectReason::kBusy && p.granted) {
    // The getter does not keep a grant refused as busy: it is used up.
    ctx_->grants->OnSent(KeyOf(p.slot));
    ctx_->RunGrants();
  } else {
    Refused(p);
  }
  Reject(r.slot, r.index, why);
}

void ServeSession::Pump() {
  if (session_ == nullptr || session_->closing() || reading_ || queue_.empty() || cap_timer_) return;
  const Pending next = queue_.front();
  auto slot = slots_.find(next.slot);
  SharedFile* f = slot == slots_.end() ? nullptr : ctx_->registry.Find(slot->second);
  if (f == nullptr || f->changed) {
    queue_.pop_front();
    Refused(next);
    Reject(next.slot, next.index, proto::RejectReason::kChanged);
    return Pump();
  }
  // Keep at most about two chunks queued in the socket path: enough to keep
  // the link busy, little enough that CANCEL still has something to cancel.
  if (session_->unsent_bytes() >= 2 * std::size_t{f->info.chunk_size}) return;
  // The upload cap: wait out any debt before reading more.
  if (const auto wait = ctx_->upload.Debt(); wait.count() > 0) {
    cap_timer_ = session_->loop().AddTimer(wait, [this] {
      cap_timer_ = 0;
      Pump();
    });
    return;
  }
  if (auto spread = ctx_->spread.find(f->info.id); spread != ctx_->spread.end()) {
    if (!spread->second.ShouldSend(next.index)) {
      queue_.pop_front();
      Refused(next);
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
    Refused(next);
    Reject(next.slot, next.index, proto::RejectReason::kChanged);
    return Pump();
  }
  queue_.pop_front();
  const ChunkLayout layout = f->info.layout();
  const std::uint32_t len = layout.length(next.index);
  auto buf = ctx_->buffers->Get(len);
  reading_ = true;
  std::weak_ptr<bool> alive = alive_;
  session_->loop().ReadFile(handle->fd, buf->data(), len, layout.offset(next.index),
                            [this, alive, buf, handle, id = f->info.id, next, len](Result<std::size_t> got) {
                              if (alive.expired()) return;  // the session is gone; drop the chunk
                              OnChunkRead(id, next, buf, len, std::move(got));
                            });
}

void ServeSession::OnChunkRead(const FileId& id, Pending next, const std::shared_ptr<AlignedBuffer>& buf,
                               std::uint32_t len, Result<std::size_t> got) {
  reading_ = false;
  if (session_ == nullptr || session_->closing()) return;
  SharedFile* file = ctx_->registry.Find(id);
  if (file == nullptr || file->changed) {
    Refused(next);
    Reject(next.slot, next.index, proto::RejectReason::kChanged);
    return Pump();
  }
  // With the file's own digest: a SHA-256 file is served only as bytes that
  // match their SHA-256, whatever it costs this loop (doc/benchmarks.md).
  const bool intact = got.ok() && *got == len &&
                      file->info.chunks.Matches(next.index, HashChunk(file->info.digest(), buf->data(), len));
  if (!intact) {
    Status why = !got.ok() ? got.status()
                           : Status::Corruption(fmt::format("{}: chunk {} no longer matches its checksum", file->path,
                                                            next.index));
    Refused(next);
    Reject(next.slot, next.index, proto::RejectReason::kChanged);
    if (ctx_->on_changed) ctx_->on_changed(*file, why);
    return Pump();
  }
  if (spdlog::should_log(spdlog::level::debug)) {
    // One line per chunk sent: what tests/lan/test_faults.sh counts (a
    // resumed download must not be sent a chunk it holds already).
    spdlog::debug("{}: sending chunk {} of {}", session_->peer().ToString(), next.index, file->info.name);
  }
  session_->SendChunk(proto::ChunkHeader{next.slot, next.index, len}, buf, 0);
  if (next.granted) granted_out_.emplace_back(next.slot, session_->sent_bytes() + session_->unsent_bytes());
  ctx_->upload.Take(len);
  ctx_->uploaded_bytes += len;
  file->uploaded_bytes += len;
  Pump();
}

void ServeSession::SendHave(const FileId& id, std::uint32_t index) {
  if (session_ == nullptr || session_->closing()) return;
  for (const auto& [slot, file] : slots_) {
    if (file == id) session_->Send(proto::Have{slot, index});
  }
}

}  // namespace lanswarm::peer
