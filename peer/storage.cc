#include "peer/storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "common/aligned_buffer.h"
#include "common/units.h"
#include "fileinfo/chunk_hasher.h"
#include "fileinfo/scan.h"

namespace lanswarm::peer {

namespace {

// Every error that ends in "the disk is full" says what to do the same way.
constexpr std::string_view kFreeSpace = "free some space and run the same command again";

bool NoSpace(int err) { return err == ENOSPC || err == EDQUOT; }

// Sets the file to `size` bytes with its blocks allocated, so a full disk
// shows up now rather than in the middle of the download. File systems
// without fallocate get a sparse file instead.
Status Reserve(int fd, const std::string& path, std::uint64_t size) {
  if (size == 0) return Status::Ok();
  if (::fallocate(fd, 0, 0, static_cast<off_t>(size)) == 0) return Status::Ok();
  const int err = errno;
  if (NoSpace(err)) {
    // What the file holds on disk now (a resumed .partial may be sparse: its
    // size says nothing), and what the file system has left.
    struct stat st {};
    struct statvfs vfs {};
    const std::uint64_t allocated = ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_blocks) * 512 : 0;
    const std::uint64_t free_bytes =
        ::fstatvfs(fd, &vfs) == 0 ? static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize : 0;
    return Status::IOError(NoSpaceMessage(path, size, allocated, free_bytes, err));
  }
  if (err != EOPNOTSUPP && err != ENOSYS) return Status::FromErrno("fallocate " + path, err);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return Status::FromErrno("truncate " + path, errno);
  return Status::Ok();
}

}  // namespace

std::string PartialPath(const std::string& out) { return out + ".partial"; }

std::string FileIdentity::ToString() const { return fmt::format("{}:{}", dev, ino); }

std::optional<FileIdentity> FileIdentity::Parse(std::string_view text) {
  FileIdentity id;
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto number = [](std::string_view t, std::uint64_t* out) {
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), *out);
    return ec == std::errc() && end == t.data() + t.size() && !t.empty();
  };
  if (!number(text.substr(0, colon), &id.dev) || !number(text.substr(colon + 1), &id.ino)) return std::nullopt;
  return id;
}

namespace {
FileIdentity IdentityOf(const struct stat& st) {
  return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}
}  // namespace

Result<int> OpenPartial(const std::string& partial, const std::optional<FileIdentity>& expected) {
  const int fd = ::open(partial.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP) {
      return Status::InvalidArgument(fmt::format("{} is a symbolic link; refusing to write through it (remove it and "
                                                 "run the same command again)", partial));
    }
    return Status::FromErrno(partial, errno);
  }
  struct stat st {};
  std::string problem;
  if (::fstat(fd, &st) != 0) {
    problem = std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    problem = "is not a regular file";
  } else if (st.st_nlink != 1) {
    problem = fmt::format("has {} names (hard links); refusing to write to a file that is also elsewhere", st.st_nlink);
  } else if (st.st_uid != ::geteuid()) {
    problem = fmt::format("belongs to user {}, not to this user ({})", st.st_uid, ::geteuid());
  } else if (expected && IdentityOf(st) != *expected) {
    problem = "was replaced since it was reserved";
  }
  if (!problem.empty()) {
    ::close(fd);
    return Status::InvalidArgument(fmt::format("{} {}; remove it and run the same command again", partial, problem));
  }
  return fd;
}

std::string NoSpaceMessage(const std::string& path, std::uint64_t size, std::uint64_t allocated,
                           std::uint64_t free_bytes, int err) {
  allocated = std::min(allocated, size);
  const std::string need =
      allocated == 0 ? fmt::format("it needs {}", FormatBytes(size))
                     : fmt::format("it needs {} more ({} in all, {} of it on disk already)", FormatBytes(size - allocated),
                                   FormatBytes(size), FormatBytes(allocated));
  return fmt::format("not enough space for {}: {} and {} {} free ({}); {}", path, need, FormatBytes(free_bytes),
                     free_bytes == 1 ? "is" : "are", std::strerror(err), kFreeSpace);
}

Status WritePiece(int fd, const std::string& partial, std::uint64_t at, const std::uint8_t* data, std::size_t len) {
  while (len > 0) {
    const ssize_t n = ::pwrite(fd, data, len, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      return Status::IOError(fmt::format("{} writing {}: {}; the .partial is kept: {}",
                                         NoSpace(err) ? "disk full" : "error", partial, std::strerror(err),
                                         NoSpace(err) ? kFreeSpace : "run the same command again"));
    }
    data += n;
    len -= static_cast<std::size_t>(n);
    at += static_cast<std::uint64_t>(n);
  }
  return Status::Ok();
}

Result<bool> ChunkOnDiskMatches(int fd, const FileInfo& info, std::uint32_t index) {
  const std::uint64_t start = info.layout().offset(index);
  const std::uint32_t len = info.layout().length(index);
  // Memory bounded by the hasher's read unit, whatever the chunk size.
  AlignedBuffer buf(std::min<std::size_t>(len, kHashPiece));
  ChunkHasher hash(info.digest());
  std::size_t got = 0;
  while (got < len) {
    const ssize_t n = ::pread(fd, buf.data(), std::min(buf.size(), len - got), static_cast<off_t>(start + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(fmt::format("reading chunk {} of {}", index, info.name), errno);
    if (n == 0) return false;
    hash.Update(buf.data(), static_cast<std::size_t>(n));
    got += static_cast<std::size_t>(n);
  }
  return info.chunks.Matches(index, hash.Finish());
}

Result<Reservation> ReservePartial(const std::string& out_arg, const FileInfo& info, bool force,
                                   const HashOptions& options) {
  std::error_code ec;
  const std::string out = std::filesystem::absolute(out_arg, ec).lexically_normal().string();
  if (ec) return Status::InvalidArgument(fmt::format("{}: {}", out_arg, ec.message()));
  const std::string dir = std::filesystem::path(out).parent_path().string();
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::NotFound(fmt::format("{}: no such directory", dir));
  }
  // lstat: a link at `out` is replaced by the rename, never followed.
  if (::lstat(out.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::InvalidArgument(fmt::format("{} is a directory", out));
    if (!force) return Status::AlreadyExists(fmt::format("{} exists; use --force to replace it", out));
  }
  Reservation r;
  r.partial = PartialPath(out);
  r.held = Bitfield(info.chunk_count());

  // O_EXCL never follows a link: a planted one (even dangling) is EEXIST,
  // and OpenPartial then refuses it.
  int fd = ::open(r.partial.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno == EEXIST) {
    // Resume: keep what checks out, then make sure the rest is reserved.
    auto opened = OpenPartial(r.partial);
    if (!opened.ok()) return opened.status();
    fd = *opened;
    if (::fstat(fd, &st) != 0) {
      Status s = Status::FromErrno(r.partial, errno);
      ::close(fd);
      return s;
    }
    r.identity = IdentityOf(st);
    r.resumed = true;
    auto report = VerifyFile(r.partial, info, options);
    if (!report.ok()) {
      ::close(fd);
      return report.status();
    }
    r.held = Bitfield(info.chunk_count(), true);
    for (std::uint32_t i : report->bad_chunks) r.held.clear(i);
    if (static_cast<std::uint64_t>(st.st_size) > info.size &&
        ::ftruncate(fd, static_cast<off_t>(info.size)) != 0) {
      Status s = Status::FromErrno("truncate " + r.partial, errno);
      ::close(fd);
      return s;
    }
    Status s = Reserve(fd, r.partial, info.size);
    ::close(fd);
    if (!s.ok()) return s;
    return r;
  }
  if (fd < 0) return Status::FromErrno(r.partial, errno);
  if (::fstat(fd, &st) == 0) r.identity = IdentityOf(st);
  Status s = Reserve(fd, r.partial, info.size);
  ::close(fd);
  if (!s.ok()) {
    ::unlink(r.partial.c_str());  // made just now and holding nothing
    return s;
  }
  return r;
}

Status CommitPartial(int fd, const std::string& partial, const std::string& out) {
  if (::fdatasync(fd) != 0) return Status::FromErrno("fsync " + partial, errno);
  // The name must still be the file written: otherwise the rename would
  // move whatever was put there (a link to another file) to `out`.
  struct stat open_st {}, named {};
  if (::fstat(fd, &open_st) != 0) return Status::FromErrno(partial, errno);
  if (::lstat(partial.c_str(), &named) != 0 || IdentityOf(named) != IdentityOf(open_st)) {
    return Status::InvalidArgument(fmt::format("{} was replaced during the download; not renaming it to {}", partial, out));
  }
  if (::rename(partial.c_str(), out.c_str()) != 0) {
    return Status::FromErrno(fmt::format("rename {} to {}", partial, out), errno);
  }
  const std::string dir = std::filesystem::path(out).parent_path().string();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // best effort: the data itself is already durable
    ::close(dfd);
  }
  return Status::Ok();
}

}  // namespace lanswarm::peer
