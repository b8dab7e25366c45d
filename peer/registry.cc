#include "peer/registry.h"

#include <cerrno>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/hex.h"

namespace lanswarm::peer {

namespace {

constexpr std::size_t kMaxRegistryBytes = 64u << 20;
constexpr int kRegistryVersion = 1;

}  // namespace

Result<Registry> Registry::Load(const std::string& path, std::vector<std::string>* warnings) {
  Registry r;
  auto text = ReadFileBounded(path, kMaxRegistryBytes);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) return r;
    return text.status();
  }
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("files") || !j["files"].is_array()) {
    return Status::Corruption(path + ": not a lanswarm registry (expected a JSON object with \"files\")");
  }
  if (j.value("version", 0) != kRegistryVersion) {
    return Status::Unsupported(fmt::format("{}: registry version {} is not supported", path, j.value("version", 0)));
  }
  for (const auto& e : j["files"]) {
    if (!e.is_object() || !e.contains("path") || !e["path"].is_string() || !e.contains("fileinfo") ||
        !e["fileinfo"].is_string()) {
      warnings->push_back(path + ": skipped a malformed entry");
      continue;
    }
    SharedFile f;
    f.path = e["path"].get<std::string>();
    f.fileinfo_path = e["fileinfo"].get<std::string>();
    auto info = LoadFileInfo(f.fileinfo_path);
    if (!info.ok()) {
      warnings->push_back(fmt::format("no longer sharing {}: {}", f.path, info.status().message()));
      continue;
    }
    f.info = std::move(*info);
    auto bits = ParseHexBytes(e.value("verified", std::string()));
    if (!bits || bits->size() != (f.info.chunk_count() + 7) / 8) {
      warnings->push_back(fmt::format("{}: its verified-chunk list is damaged; it will be checked again", f.path));
      f.verified = Bitfield(f.info.chunk_count());
    } else {
      f.verified = Bitfield::FromBytes(f.info.chunk_count(), std::move(*bits));
    }
    f.disk_size = e.value("size", std::int64_t{-1});
    f.disk_mtime_ns = e.value("mtime_ns", std::int64_t{-1});
    r.Put(std::move(f));
  }
  return r;
}

Status Registry::Save(const std::string& path) const {
  nlohmann::json files = nlohmann::json::array();
  for (const SharedFile& f : files_) {
    if (f.downloading) continue;
    files.push_back({{"path", f.path},
                     {"fileinfo", f.fileinfo_path},
                     {"id", f.info.id.ToHex()},
                     {"verified", HexBytes(f.verified.bytes())},
                     {"size", f.disk_size},
                     {"mtime_ns", f.disk_mtime_ns}});
  }
  nlohmann::json j = {{"version", kRegistryVersion}, {"files", std::move(files)}};
  return WriteFileAtomic(path, j.dump(1) + "\n", /*overwrite=*/true, FileMode::kPrivate);
}

void Registry::Put(SharedFile file) {
  for (SharedFile& f : files_) {
    if (f.info.id == file.info.id) {
      f = std::move(file);
      return;
    }
  }
  files_.push_back(std::move(file));
}

bool Registry::Remove(const std::string& id_or_path) {
  const auto id = FileId::FromHex(id_or_path);
  const auto before = files_.size();
  std::erase_if(files_, [&](const SharedFile& f) {
    return (id && f.info.id == *id) || f.path == id_or_path || f.fileinfo_path == id_or_path;
  });
  return files_.size() != before;
}

SharedFile* Registry::Find(const FileId& id) {
  for (SharedFile& f : files_) {
    if (f.info.id == id) return &f;
  }
  return nullptr;
}

proto::Report BuildReport(const Registry& registry, std::uint16_t listen_port, std::uint64_t upload_bytes_per_second) {
  proto::Report r;
  r.listen = proto::Endpoint{0, {}, listen_port};
  r.upload_bytes_per_second = upload_bytes_per_second;
  for (const SharedFile& f : registry.files()) r.files.push_back({f.info.id, f.state()});
  return r;
}

}  // namespace lanswarm::peer
