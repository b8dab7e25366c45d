#include "fileinfo/file_hasher.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "common/aligned_buffer.h"
#include "fileinfo/checksum.h"

namespace lanswarm {

namespace {

// pread until `len` bytes arrive. Returns bytes read (< len only at EOF) or -errno.
std::int64_t ReadFull(int fd, std::uint8_t* buf, std::size_t len, std::uint64_t offset) {
  std::size_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(fd, buf + got, len - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return static_cast<std::int64_t>(got);
}

// The in-order half of the work: both hashes over consecutive pieces.
// Not thread-safe; HashFile lets one worker at a time call Consume.
class OrderedHasher {
 public:
  OrderedHasher(const ChunkLayout& layout, std::vector<std::uint64_t>* chunk_hashes)
      : layout_(layout), chunk_hashes_(chunk_hashes) {}

  // REQUIRES: pieces arrive in file order, each starting where the last ended.
  void Consume(const std::uint8_t* data, std::uint64_t offset, std::size_t len) {
    whole_.Update(data, len);
    const std::uint64_t end = offset + len;
    for (std::uint64_t pos = offset; pos < end;) {
      const std::uint32_t c = layout_.chunk_of(pos);
      const std::uint64_t chunk_begin = layout_.offset(c), chunk_end = layout_.offset(c + 1);
      const std::uint64_t seg_end = std::min(chunk_end, end);
      const std::uint8_t* seg = data + (pos - offset);
      const std::size_t seg_len = static_cast<std::size_t>(seg_end - pos);
      if (pos == chunk_begin && seg_end == chunk_end) {
        (*chunk_hashes_)[c] = ChunkHash(seg, seg_len);  // whole chunk inside this piece
      } else {
        if (pos == chunk_begin) partial_.Reset();
        partial_.Update(seg, seg_len);
        if (seg_end == chunk_end) (*chunk_hashes_)[c] = partial_.Digest();
      }
      pos = seg_end;
    }
  }

  FileId Finish() const { return whole_.Finish(); }

 private:
  const ChunkLayout& layout_;
  std::vector<std::uint64_t>* chunk_hashes_;
  WholeFileHasher whole_;
  StreamingChunkHash partial_;
};

}  // namespace

Result<FileDigest> HashFile(int fd, const ChunkLayout& layout, const std::string& path,
                            const HashOptions& options) {
  FileDigest out;
  out.chunk_hashes.resize(layout.chunk_count());
  OrderedHasher hasher(layout, &out.chunk_hashes);

  const std::uint64_t size = layout.file_size();
  const std::uint64_t pieces = (size + kHashPiece - 1) / kHashPiece;
  unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::uint64_t>(
      {threads, std::max<std::uint64_t>(1, pieces), std::max<std::size_t>(1, options.memory_budget / kHashPiece)}));

  // Sequential access doubles the kernel's readahead window.
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

  std::atomic<std::uint64_t> next_piece{0};
  std::mutex mu;
  std::condition_variable turn_cv;
  std::uint64_t turn = 0;  // guarded by mu: the piece whose bytes are hashed next
  bool failed = false;     // guarded by mu
  Status error;            // guarded by mu: the first failure

  auto fail = [&](std::unique_lock<std::mutex>& lk, Status s) {
    (void)lk;  // held by the caller
    if (!failed) error = std::move(s);
    failed = true;
    turn_cv.notify_all();
  };

  auto work = [&] {
    AlignedBuffer buf;
    try {
      buf = AlignedBuffer(kHashPiece);
    } catch (const std::bad_alloc&) {
      std::unique_lock lk(mu);
      fail(lk, Status::ResourceExhausted("out of memory for a read buffer"));
      return;
    }
    for (;;) {
      const std::uint64_t p = next_piece.fetch_add(1);
      if (p >= pieces) return;
      const std::uint64_t off = p * kHashPiece;
      const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(kHashPiece, size - off));
      const std::int64_t got = ReadFull(fd, buf.data(), len, off);

      std::unique_lock lk(mu);
      if (got < 0) {
        fail(lk, Status::FromErrno(path, static_cast<int>(-got)));
      } else if (static_cast<std::size_t>(got) < len) {
        fail(lk, Status::Corruption(fmt::format("{}: ends at byte {}, expected {} bytes (did it change?)",
                                                path, off + static_cast<std::uint64_t>(got), size)));
      }
      turn_cv.wait(lk, [&] { return failed || turn == p; });
      if (failed) return;
      // Only the worker whose turn it is touches the hasher, so the hashing
      // itself runs unlocked while the other workers read.
      lk.unlock();
      hasher.Consume(buf.data(), off, len);
      if (options.progress) options.progress(off + len, size);
      lk.lock();
      ++turn;
      turn_cv.notify_all();
    }
  };

  if (threads == 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (unsigned i = 0; i < threads; ++i) pool.emplace_back(work);
    for (auto& t : pool) t.join();
  }
  if (failed) return error;
  out.id = hasher.Finish();
  return out;
}

}  // namespace lanswarm
