// The control commands of peer/daemon_impl.h: one method each, in one table.
#include <unistd.h>

#include <fmt/format.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "common/hex.h"
#include "peer/daemon_impl.h"
#include "peer/share.h"

namespace lanswarm::peer {

namespace {

// An active ban as `peer status` shows it (doc/peer.md).
nlohmann::json BanJson(const Ban& b, Clock::TimePoint now) {
  return {{"file", b.file.ToHex()}, {"name", b.file_name}, {"peer_id", PeerIdHex(b.peer)}, {"address", b.address},
          {"reason", b.reason == BanReason::kStalls ? "stalls" : "bad_chunks"}, {"cause", BanCause(b)},
          {"bad_chunks", b.bad_chunks}, {"stalls", b.stalls},
          {"remaining_seconds", std::chrono::duration<double>(b.until - now).count()}};
}

const char* StateName(proto::FileState s) {
  switch (s) {
    case proto::FileState::kWhole: return "whole";
    case proto::FileState::kPartial: return "partial";
    case proto::FileState::kGone: return "gone";
  }
  return "?";
}

nlohmann::json Refused(const std::string& why) { return {{"ok", false}, {"error", why}}; }

}  // namespace

const std::map<std::string_view, Daemon::Command> Daemon::kCommands = {
    {"status", &Daemon::CmdStatus},   {"get", &Daemon::CmdGet},         {"progress", &Daemon::CmdProgress},
    {"cancel", &Daemon::CmdCancel},   {"share", &Daemon::CmdShare},     {"unshare", &Daemon::CmdUnshare},
    {"stop", &Daemon::CmdStop},
};

nlohmann::json Daemon::CmdStatus(const nlohmann::json&) {
  nlohmann::json files = nlohmann::json::array();
  for (const SharedFile& f : node_->registry().files()) {
    files.push_back({{"name", f.info.name}, {"path", f.path}, {"id", f.info.id.ToHex()},
                     {"state", StateName(f.state())}, {"chunks_held", f.verified.count_set()},
                     {"chunk_count", f.info.chunk_count()}, {"size", f.info.size},
                     {"uploaded_bytes", f.uploaded_bytes}, {"changed", f.changed}});
  }
  nlohmann::json gets = nlohmann::json::array();
  for (const auto& [out, d] : downloads_) gets.push_back(d->Progress());
  nlohmann::json banned = nlohmann::json::array();
  const Clock::TimePoint now = loop_->clock().now();
  for (const Ban& b : node_->bans().Active(now)) banned.push_back(BanJson(b, now));
  return {{"ok", true}, {"pid", ::getpid()}, {"peer_id", PeerIdHex(node_->self())}, {"listen", bound_.ToString()},
          {"coordinator", coordinator_.ToString()}, {"coordinator_connected", link_->connected()},
          {"state_dir", paths_.dir}, {"connections", pool_->size()}, {"refused_connections", pool_->refused()},
          {"evicted_connections", pool_->evicted()},
          {"uploaded_bytes", serving_->uploaded_bytes},
          {"upload_rate_bytes_per_second", static_cast<std::uint64_t>(upload_rate_.PerSecond())},
          {"upload_capacity_bytes_per_second", upload_capacity_.bytes_per_second()},
          {"files", std::move(files)}, {"downloads", std::move(gets)}, {"bans", std::move(banned)}};
}

nlohmann::json Daemon::CmdGet(const nlohmann::json& req) {
  GetRequest r;
  r.fileinfo_path = req.value("fileinfo", "");
  r.out = req.value("out", "");
  r.holder_timeout = std::chrono::seconds(req.value("holder_timeout", 60));
  r.seed = randombytes_random() | std::uint64_t{randombytes_random()} << 32;
  r.max_peers = config_.download_peers;
  if (r.out.empty() || r.fileinfo_path.empty()) return Refused("get needs \"fileinfo\" and \"out\"");
  if (auto it = downloads_.find(r.out); it != downloads_.end() && !it->second->finished()) {
    return {{"ok", true}, {"attached", true}};
  }
  auto info = LoadFileInfo(r.fileinfo_path);
  if (!info.ok()) return Refused(info.status().message());
  for (const auto& [other_out, d] : downloads_) {
    if (!d->finished() && d->id() == info->id) {
      return Refused(fmt::format("{} is already being downloaded to {}", info->name, other_out));
    }
  }
  if (const SharedFile* f = node_->registry().Find(info->id);
      f != nullptr && !f->changed && !f->downloading && f->state() == proto::FileState::kWhole) {
    return Refused(fmt::format("this peer already shares a whole copy of {} at {}; copy that file instead", info->name,
                               f->path));
  }
  if (req.contains("partial")) {
    r.partial_identity = FileIdentity::Parse(req.value("partial", ""));
    if (!r.partial_identity) return Refused("get: \"partial\" is not dev:ino");
  }
  if (auto bits = ParseHexBytes(req.value("held", "")); bits && bits->size() == (info->chunk_count() + 7) / 8) {
    r.held = Bitfield::FromBytes(info->chunk_count(), std::move(*bits));
  }
  const std::string out = r.out;
  const DownloadEnv env{loop_.get(), node_.get(), link_.get()};
  auto d = Downloader::Start(env, std::move(r), [this, out](const Status&) { OnDownloadDone(out); });
  if (!d.ok()) return Refused(d.status().message());
  downloads_[out] = *d;
  return {{"ok", true}, {"attached", false}};
}

void Daemon::OnDownloadDone(const std::string& out) {
  if (options_.on_progress) {
    if (auto it = downloads_.find(out); it != downloads_.end()) options_.on_progress(it->second->Progress());
  }
  if (!options_.stop_after_downloads) return;
  bool all_ok = true;
  for (const auto& [o, d] : downloads_) {
    if (!d->finished()) return;
    all_ok = all_ok && d->succeeded();
  }
  if (!(options_.seed && all_ok)) loop_->Stop();
}

nlohmann::json Daemon::CmdProgress(const nlohmann::json& req) {
  auto it = downloads_.find(req.value("out", ""));
  if (it == downloads_.end()) return Refused("no download to " + req.value("out", ""));
  nlohmann::json p = it->second->Progress();
  p["ok"] = true;
  return p;
}

nlohmann::json Daemon::CmdCancel(const nlohmann::json& req) {
  auto it = downloads_.find(req.value("out", ""));
  if (it == downloads_.end()) return Refused("no download to " + req.value("out", ""));
  it->second->Cancel(Status::IOError("cancelled; the .partial is kept for a later resume"));
  return CmdProgress(req);
}

nlohmann::json Daemon::CmdShare(const nlohmann::json& req) {
  SharedFile f;
  f.path = req.value("path", "");
  f.fileinfo_path = req.value("fileinfo", "");
  auto info = LoadFileInfo(f.fileinfo_path);
  if (!info.ok()) return Refused(info.status().message());
  f.info = std::move(*info);
  // Every chunk is held except those listed as missing (the CLI verified them).
  f.verified = Bitfield(f.info.chunk_count(), true);
  for (std::uint32_t i : req.value("missing", std::vector<std::uint32_t>())) {
    if (i < f.info.chunk_count()) f.verified.clear(i);
  }
  f.disk_size = req.value("size", std::int64_t{-1});
  f.disk_mtime_ns = req.value("mtime_ns", std::int64_t{-1});
  const std::string id = f.info.id.ToHex();
  const char* state = StateName(f.state());
  if (Status s = node_->Share(std::move(f)); !s.ok()) return Refused(s.message());
  return {{"ok", true}, {"id", id}, {"state", state}};
}

nlohmann::json Daemon::CmdUnshare(const nlohmann::json& req) {
  if (Status s = node_->Unshare(req.value("target", "")); !s.ok()) return Refused(s.message());
  return {{"ok", true}};
}

nlohmann::json Daemon::CmdStop(const nlohmann::json&) {
  if (!stopping_) {
    stopping_ = true;
    spdlog::info("stop requested over the control socket");
    // Let this reply leave before the loop stops.
    loop_->AddTimer(std::chrono::milliseconds(50), [this] { loop_->Stop(); });
  }
  return {{"ok", true}};
}

}  // namespace lanswarm::peer
