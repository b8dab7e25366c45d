#include "peer/state_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include <fmt/format.h>

namespace lanswarm::peer {

namespace {

constexpr mode_t kDirMode = 0700;
constexpr mode_t kFileMode = 0600;
// Parents made on the way are ordinary directories: others may pass through.
constexpr mode_t kParentMode = 0755;

Status MakeParents(const std::filesystem::path& dir) {
  std::filesystem::path p;
  for (const auto& part : dir.parent_path()) {
    p /= part;
    if (::mkdir(p.c_str(), kParentMode) != 0 && errno != EEXIST) {
      return Status::FromErrno("cannot create " + p.string(), errno);
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::optional<std::string>> PrepareStateDir(const std::string& dir) {
  std::filesystem::path path = std::filesystem::path(dir).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();  // "state/"
  LANSWARM_RETURN_IF_ERROR(MakeParents(path));
  // mkdir's mode is narrowed by the umask (0277 would leave 0500), so the
  // mode is set below in every case.
  const bool created = ::mkdir(path.c_str(), kDirMode) == 0;
  if (!created && errno != EEXIST) return Status::FromErrno("cannot create state dir " + dir, errno);
  // Checked and changed through one descriptor, so what is checked is what
  // is changed.
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOTDIR) return Status::InvalidArgument("state dir " + dir + " is not a directory");
    return Status::FromErrno("state dir " + dir, errno);
  }
  struct stat st;
  Status status;
  if (::fstat(fd, &st) != 0) {
    status = Status::FromErrno("state dir " + dir, errno);
  } else if (st.st_uid != ::geteuid()) {
    status = Status::InvalidArgument(
        fmt::format("state dir {} belongs to uid {}, not to this user (uid {}), who could read and replace "
                    "what the daemon keeps there: choose another --state-dir",
                    dir, st.st_uid, ::geteuid()));
  } else if ((st.st_mode & 07777) != kDirMode && ::fchmod(fd, kDirMode) != 0) {
    status = Status::FromErrno("chmod 700 state dir " + dir, errno);
  }
  ::close(fd);
  if (!status.ok()) return status;
  const mode_t was = st.st_mode & 07777;
  if (created || was == kDirMode) return std::optional<std::string>();
  return std::optional<std::string>(
      fmt::format("state dir {} was mode {:04o}; it is now 0700, this user's only", dir, was));
}

Result<int> OpenStateFile(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC, kFileMode);
  if (fd < 0) return Status::FromErrno(path, errno);
  // An existing file keeps its mode through open(2), a new one gets 0600
  // less the umask: set it either way.
  if (::fchmod(fd, kFileMode) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::FromErrno("chmod 600 " + path, err);
  }
  return fd;
}

}  // namespace lanswarm::peer
