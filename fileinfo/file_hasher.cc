#include "fileinfo/file_hasher.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/aligned_buffer.h"
#include "fileinfo/chunk_hasher.h"
#include "fileinfo/xxh3.h"

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

// Cuts consecutive pieces at chunk boundaries and stores each chunk's digest
// in `out` as the chunk ends. A chunk inside one piece is hashed in one call;
// one spanning pieces is streamed. Not thread-safe: one feeder per stream
// of pieces.
class ChunkFeeder {
 public:
  ChunkFeeder(const ChunkLayout& layout, DigestAlgorithm digest, ChunkDigestList* out)
      : layout_(layout), out_(out), partial_(digest) {}

  // REQUIRES: a chunk's bytes arrive in order, through this feeder only,
  // each piece starting where the last one of that chunk ended.
  void Consume(const std::uint8_t* data, std::uint64_t offset, std::size_t len) {
    const std::uint64_t end = offset + len;
    for (std::uint64_t pos = offset; pos < end;) {
      const std::uint32_t c = layout_.chunk_of(pos);
      const std::uint64_t chunk_begin = layout_.offset(c), chunk_end = layout_.offset(c + 1);
      const std::uint64_t seg_end = std::min(chunk_end, end);
      const std::uint8_t* seg = data + (pos - offset);
      const std::size_t seg_len = static_cast<std::size_t>(seg_end - pos);
      if (pos == chunk_begin && seg_end == chunk_end) {
        out_->Set(c, HashChunk(partial_.algorithm(), seg, seg_len));  // whole chunk inside this piece
      } else {
        if (pos == chunk_begin) partial_.Reset();
        partial_.Update(seg, seg_len);
        if (seg_end == chunk_end) out_->Set(c, partial_.Finish());
      }
      pos = seg_end;
    }
  }

 private:
  const ChunkLayout& layout_;
  ChunkDigestList* out_;  // pre-sized; feeders on other threads Set other chunks
  ChunkHasher partial_;
};

}  // namespace

Result<FileDigest> HashFile(int fd, const ChunkLayout& layout, DigestAlgorithm digest, const std::string& path,
                            const HashOptions& options) {
  FileDigest out;
  out.chunks = ChunkDigestList(digest, layout.chunk_count());

  // What a worker claims at a time. XXH3: one piece, hashed in turn. The
  // others: a run of whole chunks hashed by that worker alone; pieces and
  // chunks are powers of two, so a run is one piece of whole small chunks
  // or exactly one larger chunk.
  const bool in_order = !IsCryptographic(digest);
  const std::uint64_t unit = in_order ? kHashPiece : std::max<std::uint64_t>(kHashPiece, layout.chunk_size());
  const std::uint64_t size = layout.file_size();
  const std::uint64_t units = (size + unit - 1) / unit;
  unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::uint64_t>(
      {threads, std::max<std::uint64_t>(1, units), std::max<std::size_t>(1, options.memory_budget / kHashPiece)}));

  // Sequential access doubles the kernel's readahead window.
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

  // XXH3 only: the whole-file hash and the one feeder, both touched only by
  // the worker whose turn it is.
  std::optional<Xxh3_128Stream> whole;
  std::optional<ChunkFeeder> in_order_feeder;
  if (in_order) {
    whole.emplace();
    in_order_feeder.emplace(layout, digest, &out.chunks);
  }

  std::atomic<std::uint64_t> next_unit{0};
  std::mutex mu;
  std::condition_variable turn_cv;
  std::uint64_t turn = 0;  // guarded by mu: XXH3, the piece whose bytes are hashed next
  std::uint64_t done = 0;  // guarded by mu: the others, bytes hashed so far
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
    std::optional<ChunkFeeder> own;  // the cryptographic digests: this worker's runs
    if (!in_order) own.emplace(layout, digest, &out.chunks);
    for (;;) {
      const std::uint64_t u = next_unit.fetch_add(1);
      if (u >= units) return;
      const std::uint64_t unit_end = std::min(size, (u + 1) * unit);
      for (std::uint64_t off = u * unit; off < unit_end; off += kHashPiece) {
        const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(kHashPiece, unit_end - off));
        const std::int64_t got = ReadFull(fd, buf.data(), len, off);

        std::unique_lock lk(mu);
        if (got < 0) {
          return fail(lk, Status::FromErrno(path, static_cast<int>(-got)));
        } else if (static_cast<std::size_t>(got) < len) {
          return fail(lk, Status::Corruption(fmt::format("{}: ends at byte {}, expected {} bytes (did it change?)",
                                                         path, off + static_cast<std::uint64_t>(got), size)));
        }
        if (!in_order) {
          if (failed) return;
          lk.unlock();
          own->Consume(buf.data(), off, len);
          lk.lock();
          done += len;
          if (options.progress) options.progress(done, size);
          continue;
        }
        turn_cv.wait(lk, [&] { return failed || turn == u; });
        if (failed) return;
        // Only the worker whose turn it is touches the hashes, so the
        // hashing itself runs unlocked while the other workers read.
        lk.unlock();
        whole->Update(buf.data(), len);
        in_order_feeder->Consume(buf.data(), off, len);
        if (options.progress) options.progress(off + len, size);
        lk.lock();
        ++turn;
        turn_cv.notify_all();
      }
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
  out.id = in_order ? whole->Finish() : CryptoFileId(out.chunks);
  return out;
}

}  // namespace lanswarm
