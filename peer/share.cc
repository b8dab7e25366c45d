#include "peer/share.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include <fmt/format.h>

#include "fileinfo/scan.h"

namespace lanswarm::peer {

namespace {

Result<std::string> Absolute(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return Status::FromErrno(path, errno);
  return std::string(buf);
}

std::int64_t MtimeNs(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

}  // namespace

Status StampFromDisk(SharedFile* f) {
  struct stat st;
  if (::stat(f->path.c_str(), &st) != 0) return Status::FromErrno(f->path, errno);
  f->disk_size = st.st_size;
  f->disk_mtime_ns = MtimeNs(st);
  return Status::Ok();
}

Status CheckOnDisk(const SharedFile& f) {
  struct stat st;
  if (::stat(f.path.c_str(), &st) != 0) {
    return errno == ENOENT ? Status::NotFound(f.path + ": vanished") : Status::FromErrno(f.path, errno);
  }
  if (st.st_size != f.disk_size) {
    return Status::Corruption(fmt::format("{}: size changed from {} to {} bytes", f.path, f.disk_size, st.st_size));
  }
  if (MtimeNs(st) != f.disk_mtime_ns) return Status::Corruption(f.path + ": modified since it was verified");
  return Status::Ok();
}

Result<SharedFile> PrepareShare(const std::string& path, const std::string& fileinfo_path,
                                std::optional<DigestAlgorithm> digest, const HashOptions& options) {
  auto abs = Absolute(path);
  if (!abs.ok()) return abs.status();
  SharedFile f;
  f.path = *abs;
  const std::string fi_path = fileinfo_path.empty() ? f.path + ".fileinfo" : fileinfo_path;

  if (::access(fi_path.c_str(), F_OK) == 0) {
    auto info = LoadFileInfo(fi_path);
    if (!info.ok()) return info.status();
    if (digest && *digest != info->digest()) {
      return Status::InvalidArgument(fmt::format("{} checks its chunks with {}, not {}; it keeps the digest it was "
                                                 "made with (remove it to make a new one, or leave out --digest)",
                                                 fi_path, DigestName(info->digest()), DigestName(*digest)));
    }
    auto report = VerifyFile(f.path, *info, options);
    if (!report.ok()) return report.status();
    f.info = std::move(*info);
    f.verified = Bitfield(f.info.chunk_count(), true);
    for (std::uint32_t bad : report->bad_chunks) f.verified.clear(bad);
    if (f.verified.none() && f.info.chunk_count() > 0) {
      return Status::Corruption(fmt::format("{}: no chunk matches {}; is it the right .fileinfo?", f.path, fi_path));
    }
  } else {
    auto info = CreateFileInfo(f.path, 0, digest.value_or(kDefaultDigest), options);
    if (!info.ok()) return info.status();
    LANSWARM_RETURN_IF_ERROR(SaveFileInfo(*info, fi_path, /*overwrite=*/false));
    f.info = std::move(*info);
    f.verified = Bitfield(f.info.chunk_count(), true);
  }
  auto abs_fi = Absolute(fi_path);
  if (!abs_fi.ok()) return abs_fi.status();
  f.fileinfo_path = *abs_fi;
  LANSWARM_RETURN_IF_ERROR(StampFromDisk(&f));
  return f;
}

}  // namespace lanswarm::peer
