#include "common/file_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <fmt/format.h>

namespace lanswarm {

namespace {

// Closes on scope exit.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string DirOf(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Result<std::string> ReadFileBounded(const std::string& path, std::size_t max_bytes) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return Status::FromErrno(path, errno);
  struct stat st;
  if (::fstat(f.fd, &st) != 0) return Status::FromErrno(path, errno);
  if (S_ISDIR(st.st_mode)) return Status::InvalidArgument(path + ": is a directory");
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(path, errno);
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) {
      return Status::InvalidArgument(
          fmt::format("{}: larger than the {} bytes allowed for this kind of file", path, max_bytes));
    }
  }
  return text;
}

Status WriteFileAtomic(const std::string& path, std::string_view contents, bool overwrite, FileMode mode) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    // A temporary of ours left by a crash, or anything planted at its name,
    // goes first: O_EXCL then makes a new file with our mode, and refuses a
    // link someone races back in.
    ::unlink(tmp.c_str());
    const bool private_file = mode == FileMode::kPrivate;
    Fd f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, private_file ? 0600 : 0644)};
    if (f.fd < 0) return Status::FromErrno(tmp, errno);
    // The umask can only narrow 0600 (0400 and the like); state files are
    // the daemon's to read and rewrite.
    if (private_file && ::fchmod(f.fd, 0600) != 0) {
      Status s = Status::FromErrno("chmod " + tmp, errno);
      ::unlink(tmp.c_str());
      return s;
    }
    const char* p = contents.data();
    std::size_t left = contents.size();
    while (left > 0) {
      ssize_t n = ::write(f.fd, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        Status s = Status::FromErrno(path, errno);
        ::unlink(tmp.c_str());
        return s;
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    if (::fsync(f.fd) != 0) {
      Status s = Status::FromErrno(path, errno);
      ::unlink(tmp.c_str());
      return s;
    }
  }
  int rc = overwrite ? ::rename(tmp.c_str(), path.c_str())
                     : ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
  if (rc != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    if (err == EEXIST) return Status::AlreadyExists(path + ": already exists");
    return Status::FromErrno(path, err);
  }
  // Make the rename itself durable; failure here loses nothing already written.
  Fd dir{::open(DirOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir.fd >= 0) ::fsync(dir.fd);
  return Status::Ok();
}

Status WriteNewSecretFile(const std::string& path, std::string_view contents) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno("create " + path, errno);
  // The umask may have taken bits the mode asked for, never added any; set
  // it exactly anyway, so the file is what the contract says.
  const bool ok = ::fchmod(fd, 0600) == 0 &&
                  ::write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()) &&
                  ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Status::FromErrno("write " + path, err != 0 ? err : EIO);
  }
  return Status::Ok();
}

}  // namespace lanswarm
