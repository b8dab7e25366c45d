#include "peer/node.h"

#include <spdlog/spdlog.h>

#include "peer/share.h"

namespace lanswarm::peer {

namespace {

// Stands in until the daemon sets the real events (and in tests).
class NoEvents final : public NodeEvents {
 public:
  void OnChunkGained(const FileId&, std::uint32_t) override {}
  void OnFileReset(const FileId&) override {}
  void OnFileShared(const SharedFile&) override {}
  void ReportNow() override {}
};
NoEvents g_no_events;

}  // namespace

Node::Node(const Config& config, std::shared_ptr<const auth::Identity> identity, std::shared_ptr<const auth::KeyRing> keys,
           std::string registry_path, Registry registry)
    : config_(config),
      identity_(std::move(identity)),
      keys_(std::move(keys)),
      registry_path_(std::move(registry_path)),
      registry_(std::move(registry)),
      bans_(BanPolicy{.after_bad_chunks = config.ban_after_bad_chunks,
                      .after_stalls = config.ban_after_stalls,
                      .cooldown = config.ban_cooldown}),
      events_(&g_no_events) {}

void Node::Save() {
  if (Status s = registry_.Save(registry_path_); !s.ok()) spdlog::error("cannot save the registry: {}", s.message());
}

void Node::ShareConfigured() {
  for (const std::string& path : config_.shared) {
    bool known = false;
    for (const SharedFile& f : registry_.files()) known = known || f.path == path;
    if (known) continue;
    auto f = PrepareShare(path, "");
    if (!f.ok()) {
      spdlog::error("not sharing {}: {}", path, f.status().message());
      continue;
    }
    spdlog::info("sharing {} ({} chunks)", f->path, f->info.chunk_count());
    registry_.Put(std::move(*f));
  }
  for (const SharedFile& f : registry_.files()) events_->OnFileShared(f);
}

Status Node::Share(SharedFile f) {
  if (Status s = CheckOnDisk(f); !s.ok()) return Status::InvalidArgument(s.message() + "; share it again once it is still");
  spdlog::info("sharing {} ({}, {} of {} chunks)", f.path, f.state() == proto::FileState::kWhole ? "whole" : "partial",
               f.verified.count_set(), f.info.chunk_count());
  // Chunks held now but not before (a repaired copy shared again) are
  // announced to every connection that has the file open.
  std::vector<std::uint32_t> gained;
  if (const SharedFile* old = registry_.Find(f.info.id); old != nullptr && !old->changed) {
    for (std::uint32_t i = 0; i < f.info.chunk_count(); ++i) {
      if (f.verified.has(i) && !old->verified.has(i)) gained.push_back(i);
    }
  }
  const FileId id = f.info.id;
  events_->OnFileReset(id);  // a re-share of the same id may point at another path
  registry_.Put(std::move(f));
  if (const SharedFile* now = registry_.Find(id)) events_->OnFileShared(*now);
  for (std::uint32_t i : gained) events_->OnChunkGained(id, i);
  Save();
  events_->ReportNow();
  return Status::Ok();
}

Status Node::Unshare(const std::string& target) {
  std::vector<FileId> ids;
  for (const SharedFile& f : registry_.files()) {
    if (f.info.id.ToHex() == target || f.path == target || f.fileinfo_path == target) ids.push_back(f.info.id);
  }
  if (!registry_.Remove(target)) return Status::NotFound("not shared: " + target);
  for (const FileId& id : ids) events_->OnFileReset(id);
  spdlog::info("stopped sharing {}", target);
  Save();
  events_->ReportNow();
  return Status::Ok();
}

void Node::StopServing(SharedFile& f, const Status& why) {
  spdlog::warn("stopped serving {}: {}", f.path, why.message());
  f.changed = true;
  events_->OnFileReset(f.info.id);
}

bool Node::CheckDisk() {
  bool dirty = false;
  for (SharedFile& f : registry_.files()) {
    if (f.changed || f.downloading) continue;
    if (Status s = CheckOnDisk(f); !s.ok()) {
      StopServing(f, s);
      dirty = true;
    }
  }
  if (dirty) Save();
  return dirty;
}

void Node::BeginDownload(const std::string& partial, const std::string& fileinfo_path, const FileInfo& info,
                         const Bitfield& held) {
  SharedFile f;
  f.path = partial;
  f.fileinfo_path = fileinfo_path;
  f.info = info;
  f.verified = held;
  f.downloading = true;
  events_->OnFileReset(info.id);
  registry_.Put(std::move(f));
  events_->ReportNow();
}

void Node::ChunkVerified(const FileId& id, std::uint32_t index) {
  SharedFile* f = registry_.Find(id);
  if (f == nullptr || !f->downloading) return;
  const bool first = f->verified.none();
  f->verified.set(index);
  events_->OnChunkGained(id, index);
  if (first) events_->ReportNow();  // state 0 -> 1: others may fetch from us now
}

void Node::CommitDownload(const FileId& id, const std::string& path) {
  SharedFile* f = registry_.Find(id);
  if (f == nullptr) return;
  f->path = path;
  f->downloading = false;
  f->changed = false;
  f->verified = Bitfield(f->info.chunk_count(), true);
  if (Status s = StampFromDisk(f); !s.ok()) spdlog::warn("{}", s.message());
  events_->OnFileReset(id);
  Save();
  events_->ReportNow();
}

}  // namespace lanswarm::peer
