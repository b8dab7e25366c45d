#include "fileinfo/scan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

namespace lanswarm {

namespace {

// An open regular file, closed on scope exit.
class InputFile {
 public:
  static Result<InputFile> Open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(path, errno);
    InputFile f(fd);
    if (::fstat(fd, &f.st_) != 0) return Status::FromErrno(path, errno);
    if (!S_ISREG(f.st_.st_mode)) return Status::InvalidArgument(path + ": not a regular file");
    return f;
  }
  InputFile(InputFile&& o) noexcept : fd_(o.fd_), st_(o.st_) { o.fd_ = -1; }
  InputFile& operator=(InputFile&&) = delete;
  ~InputFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }
  const struct stat& stat() const { return st_; }

 private:
  explicit InputFile(int fd) : fd_(fd) {}
  int fd_;
  struct stat st_ {};
};

std::string BaseName(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

}  // namespace

Result<FileInfo> CreateFileInfo(const std::string& path, std::uint64_t chunk_size, DigestAlgorithm digest_algorithm,
                                const HashOptions& options) {
  auto file = InputFile::Open(path);
  if (!file.ok()) return file.status();
  const std::uint64_t size = static_cast<std::uint64_t>(file->stat().st_size);

  FileInfo info;
  info.name = BaseName(path);
  if (Status s = ValidateFileName(info.name); !s.ok()) return s.Prefixed(path);
  if (chunk_size == 0) chunk_size = AutoChunkSize(size);
  if (!IsValidChunkSize(chunk_size)) {
    return Status::InvalidArgument(fmt::format("chunk size {} is not a power of two between {} and {}",
                                               chunk_size, kMinChunkSize, kMaxChunkSize));
  }
  if (!LayoutFits(size, chunk_size)) {
    return Status::InvalidArgument(fmt::format(
        "{}: {} bytes in chunks of {} exceeds the limit of {} chunks (files up to {} bytes)", path,
        size, chunk_size, kMaxChunkCount, kMaxFileSize));
  }
  info.size = size;
  info.chunk_size = static_cast<std::uint32_t>(chunk_size);

  auto digest = HashFile(file->fd(), info.layout(), digest_algorithm, path, options);
  if (!digest.ok()) return digest.status();

  struct stat after;
  if (::fstat(file->fd(), &after) != 0) return Status::FromErrno(path, errno);
  if (after.st_size != file->stat().st_size || after.st_mtim.tv_sec != file->stat().st_mtim.tv_sec ||
      after.st_mtim.tv_nsec != file->stat().st_mtim.tv_nsec) {
    return Status::Corruption(path + ": changed while it was being hashed; try again when it is still");
  }
  info.chunks = std::move(digest->chunks);
  info.id = digest->id;
  return info;
}

Result<VerifyReport> VerifyFile(const std::string& path, const FileInfo& info,
                                const HashOptions& options) {
  auto file = InputFile::Open(path);
  if (!file.ok()) return file.status();

  VerifyReport report;
  report.expected_size = info.size;
  report.actual_size = static_cast<std::uint64_t>(file->stat().st_size);
  report.chunk_count = info.chunk_count();

  // Hash the bytes both sizes share, cut at the fileinfo's chunk boundaries;
  // a chunk cut short there hashes differently and so counts as bad.
  const ChunkLayout layout(std::min(report.actual_size, report.expected_size), info.chunk_size);
  auto digest = HashFile(file->fd(), layout, info.digest(), path, options);
  if (!digest.ok()) return digest.status();

  for (std::uint32_t c = 0; c < info.chunk_count(); ++c) {
    if (c >= layout.chunk_count() || !info.chunks.Matches(c, digest->chunks[c])) {
      report.bad_chunks.push_back(c);
    }
  }
  report.id_matches = report.actual_size == report.expected_size && digest->id == info.id;
  return report;
}

}  // namespace lanswarm
